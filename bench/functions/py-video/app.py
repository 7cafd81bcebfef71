# FunctionBench "video_processing" (TrEnv: VP): grayscale every frame of a clip
# with OpenCV and encode the result. clip.mp4 (2 s, 320x240, 15 fps, ffmpeg's
# testsrc pattern) ships with the function; make-clip.sh regenerates it.
import os
import tempfile

import cv2

CLIP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clip.mp4")


def handler(event, context):
    capture = cv2.VideoCapture(CLIP)
    fps = capture.get(cv2.CAP_PROP_FPS) or 15
    out_dir = tempfile.mkdtemp(prefix="vp-")
    out_path = os.path.join(out_dir, "gray.avi")
    writer = None
    frames = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if writer is None:
                writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (gray.shape[1], gray.shape[0]), False)
            writer.write(gray)
            frames += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    size = os.path.getsize(out_path) if os.path.exists(out_path) else 0
    if os.path.exists(out_path):
        os.remove(out_path)
    os.rmdir(out_dir)
    if frames == 0:
        raise RuntimeError(f"no frames decoded from {CLIP}")
    return {"frames": frames, "bytes": size}
