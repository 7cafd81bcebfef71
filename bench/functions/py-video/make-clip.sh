#!/bin/sh
# Regenerates clip.mp4: 2 s of ffmpeg's test pattern, 320x240 at 15 fps, MPEG-4 part 2.
exec ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=2:size=320x240:rate=15 -c:v mpeg4 -q:v 5 "$(dirname "$0")/clip.mp4"
