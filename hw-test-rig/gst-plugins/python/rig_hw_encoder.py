"""The rig's stand-in for a board's hardware H.264 encoder, which fails on demand.

This machine has no hardware encoder, so the rig registers one under the name of a real one
(vpuenc_h264, NXP i.MX 8M Plus) with the same properties the firmware's encoder table sets
(bitrate in kbit/s, gop-size in frames). Inside it is x264enc. It exists only in the rig
(GST_PLUGIN_PATH=hw-test-rig/gst-plugins, loaded by gstreamer1.0-python3-plugin-loader) so the
firmware's hardware-first choice, run-time failure and software fallback run for real.

Faults: the file named by RIG_HW_ENCODER_FAULT_FILE holds 'start' (refuse to start, as a VPU
whose firmware did not load) or 'stream' (an encode error mid-stream, as a wedged VPU); no file,
no fault.
"""

import os

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, GObject, Gst  # noqa: E402

Gst.init(None)


def fault():
    path = os.environ.get("RIG_HW_ENCODER_FAULT_FILE")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


class RigHwEncoder(Gst.Bin):
    __gstmetadata__ = (
        "Rig stand-in hardware H.264 encoder",
        "Codec/Encoder/Video/Hardware",
        "x264enc behind a hardware encoder's name and properties; fails on demand (rig only)",
        "Telemed Terminal rig",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new(
            "sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, Gst.Caps.from_string("video/x-raw")
        ),
        Gst.PadTemplate.new(
            "src",
            Gst.PadDirection.SRC,
            Gst.PadPresence.ALWAYS,
            Gst.Caps.from_string("video/x-h264,stream-format=byte-stream,alignment=au"),
        ),
    )
    __gproperties__ = {
        "bitrate": (GObject.TYPE_UINT, "Bitrate", "kbit/s", 1, 100000, 2000, GObject.ParamFlags.READWRITE),
        "gop-size": (GObject.TYPE_INT, "GOP size", "frames between key frames", 1, 10000, 30, GObject.ParamFlags.READWRITE),
    }

    def __init__(self):
        super().__init__()
        self.enc = Gst.ElementFactory.make("x264enc", None)
        for name, value in (("tune", "zerolatency"), ("speed-preset", "ultrafast"), ("pass", "cbr")):
            Gst.util_set_object_arg(self.enc, name, value)
        self.enc.set_property("bframes", 0)
        self.enc.set_property("byte-stream", True)
        self.add(self.enc)
        sink = Gst.GhostPad.new_from_template("sink", self.enc.get_static_pad("sink"), self.get_pad_template("sink"))
        src = Gst.GhostPad.new_from_template("src", self.enc.get_static_pad("src"), self.get_pad_template("src"))
        self.add_pad(sink)
        self.add_pad(src)
        self.enc.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self._on_buffer)
        self.failed = False

    def do_get_property(self, prop):
        if prop.name == "bitrate":
            return self.enc.get_property("bitrate")
        return self.enc.get_property("key-int-max")

    def do_set_property(self, prop, value):
        if prop.name == "bitrate":
            self.enc.set_property("bitrate", value)
        else:
            self.enc.set_property("key-int-max", value)

    def _error(self, text):
        error = GLib.Error.new_literal(Gst.StreamError.quark(), text, Gst.StreamError.ENCODE)
        self.post_message(Gst.Message.new_error(self, error, "fault injected by the rig (RIG_HW_ENCODER_FAULT_FILE)"))

    def _on_buffer(self, pad, info):
        if self.failed:
            return Gst.PadProbeReturn.DROP
        if fault() == "stream":
            self.failed = True
            self._error("hardware encoder stopped responding (VPU timeout)")
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def do_change_state(self, transition):
        if transition == Gst.StateChange.READY_TO_PAUSED and fault() == "start":
            self._error("hardware encoder could not be opened (VPU firmware not loaded)")
            return Gst.StateChangeReturn.FAILURE
        return Gst.Bin.do_change_state(self, transition)


GObject.type_register(RigHwEncoder)
__gstelementfactory__ = ("vpuenc_h264", Gst.Rank.NONE, RigHwEncoder)
