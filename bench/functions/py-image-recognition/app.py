# SeBS "image-recognition" (TrEnv: IR): classify an image with a ResNet-18.
# No weights can be downloaded here, so the model (the torchvision ResNet-18
# architecture, written out) has random weights from a fixed seed: the same
# imports, model size, init and inference cost as the original, not its labels.
import io
import random

import torch
import torch.nn as nn
from PIL import Image, ImageDraw

torch.set_num_threads(1)
torch.manual_seed(0)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


MODEL = ResNet18().eval()
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def _image(seed):
    rng = random.Random(seed)
    image = Image.new("RGB", (256, 256), (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = rng.randint(0, 230), rng.randint(0, 230)
        draw.rectangle((x, y, x + rng.randint(5, 60), y + rng.randint(5, 60)), fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def handler(event, context):
    image = Image.open(io.BytesIO(_image(int(event.get("seed", 1))))).convert("RGB").resize((224, 224))
    pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).view(224, 224, 3).permute(2, 0, 1).float() / 255.0
    batch = ((pixels - MEAN) / STD).unsqueeze(0)
    with torch.no_grad():
        scores = MODEL(batch)[0]
    top = torch.topk(scores, 3)
    return {"top": [int(i) for i in top.indices], "scores": [round(float(s), 4) for s in top.values]}
