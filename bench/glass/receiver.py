"""The far end of the glass-to-glass benchmark: an SRT listener that decodes what arrives, reads
each frame's wall-clock mark back (simplevideomarkdetect) and prints, as JSON, how old each frame
was when it was decoded — camera to decoded picture, everything in between.

usage: receiver.py PORT PASSPHRASE SECONDS
"""

import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

from mark import MARK_PROPS, age_ms  # noqa: E402

port, passphrase, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
Gst.init(None)
pipeline = Gst.parse_launch(
    f"srtsrc uri=srt://127.0.0.1:{port}?mode=listener passphrase={passphrase} latency=120 ! tsdemux ! "
    f"h264parse ! decodebin ! videoconvert ! simplevideomarkdetect name=detect {MARK_PROPS} ! "
    "fakesink sync=false"
)
ages = []
unreadable = 0


def on_message(bus, message):
    global unreadable
    s = message.get_structure()
    if message.type == Gst.MessageType.ELEMENT and s is not None and s.get_name() == "GstSimpleVideoMarkDetect":
        ok, data = s.get_uint64("data")
        if s.get_value("have-pattern") and ok:
            ages.append(age_ms(data))
        else:
            unreadable += 1
    return True


bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
pipeline.set_state(Gst.State.PLAYING)
loop = GLib.MainLoop()
GLib.timeout_add(int(seconds * 1000), loop.quit)
loop.run()
pipeline.set_state(Gst.State.NULL)
print(json.dumps({"ages": ages, "unreadable": unreadable}))
