# FunctionBench "image_processing" (TrEnv: IP): flip, rotate, resize, filter and
# re-encode an image with Pillow. The input (a 640x480 JPEG with a gradient,
# shapes and noise) is generated at init, standing in for the download.
import io
import random

from PIL import Image, ImageDraw, ImageFilter


def _make_input() -> bytes:
    rng = random.Random(3)
    image = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randint(0, 600), rng.randint(0, 440)
        draw.ellipse((x, y, x + rng.randint(10, 80), y + rng.randint(10, 80)), fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    noise = Image.effect_noise((640, 480), 40).convert("RGB")
    image = Image.blend(image, noise, 0.2)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


INPUT = _make_input()


def handler(event, context):
    image = Image.open(io.BytesIO(INPUT))
    results = {}
    for name, op in (
        ("flip", lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        ("rotate", lambda im: im.rotate(90, expand=True)),
        ("resize", lambda im: im.resize((320, 240))),
        ("blur", lambda im: im.filter(ImageFilter.GaussianBlur(2))),
        ("gray", lambda im: im.convert("L")),
    ):
        out = io.BytesIO()
        op(image).save(out, format="JPEG", quality=85)
        results[name] = len(out.getvalue())
    return {"input": len(INPUT), "outputs": results}
