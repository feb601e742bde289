"""A camera for the glass-to-glass benchmark: each frame carries the wall clock (milliseconds,
24 bits) as a simplevideomark pattern burnt into its top-left corner, stamped as it is captured,
and is offered raw on a shmsink socket like the rig camera.

usage: stamp_camera.py SOCKET WIDTH HEIGHT FPS
"""

import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

from mark import MARK_PROPS, now_mark  # noqa: E402

socket, width, height, fps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
Gst.init(None)
pipeline = Gst.parse_launch(
    f"videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width={width},height={height},"
    f"framerate={fps}/1 ! simplevideomark name=mark {MARK_PROPS} ! shmsink socket-path={socket} "
    f"wait-for-connection=false sync=true shm-size={width * height * 2 * 8}"
)
mark = pipeline.get_by_name("mark")


def stamp(pad, info):
    mark.set_property("pattern-data", now_mark())
    return Gst.PadProbeReturn.OK


mark.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, stamp)
pipeline.set_state(Gst.State.PLAYING)
loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
loop.run()
pipeline.set_state(Gst.State.NULL)
time.sleep(0.1)
