"""The wall-clock mark shared by the stamping camera and the receiver."""

import time

BITS = 24
# Markers 16 px square survive H.264 at a consultation bitrate; 4 + 24 of them fit in 640 px.
MARK_PROPS = "pattern-width=16 pattern-height=16 pattern-count=4 pattern-data-count=24"


def now_mark():
    return int(time.time() * 1000) & ((1 << BITS) - 1)


def age_ms(mark):
    return (now_mark() - mark) & ((1 << BITS) - 1)
