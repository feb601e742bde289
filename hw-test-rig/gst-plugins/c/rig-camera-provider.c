/*
 * The rig's USB cameras as the GStreamer device monitor sees them. This machine has no
 * /dev/video*, so this device provider lists the cameras the rig describes instead: each line of
 * the file named by RIG_CAMERA_DEVICES is "name|caps" (the caps text a V4L2 device would offer).
 * The firmware's discovery (the media worker's `cameras` request), mode choice and messages then
 * run for real against them. Built by the rig at test time; rig only.
 */
#define PACKAGE "telemed-rig"
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

typedef struct { GstDevice parent; } RigCamera;
typedef struct { GstDeviceClass parent_class; } RigCameraClass;
G_DEFINE_TYPE (RigCamera, rig_camera, GST_TYPE_DEVICE)

static GstElement *
rig_camera_create_element (GstDevice * device, const gchar * name)
{
  /* What a V4L2 device would make; the firmware builds its own v4l2src from the path anyway. */
  return gst_element_factory_make ("videotestsrc", name);
}

static void rig_camera_class_init (RigCameraClass * klass)
{
  GST_DEVICE_CLASS (klass)->create_element = rig_camera_create_element;
}

static void rig_camera_init (RigCamera * self) { }

typedef struct { GstDeviceProvider parent; } RigCameraProvider;
typedef struct { GstDeviceProviderClass parent_class; } RigCameraProviderClass;
G_DEFINE_TYPE (RigCameraProvider, rig_camera_provider, GST_TYPE_DEVICE_PROVIDER)

static GList *
rig_camera_provider_probe (GstDeviceProvider * provider)
{
  const gchar *path = g_getenv ("RIG_CAMERA_DEVICES");
  gchar *text = NULL;
  GList *devices = NULL;
  if (!path || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  gchar **lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    gchar **parts = g_strsplit (lines[i], "|", 2);
    if (parts[0] && parts[1] && *parts[0]) {
      GstCaps *caps = gst_caps_from_string (parts[1]);
      gchar *node = g_strdup_printf ("/dev/video%u", 40 + i);
      GstStructure *props = gst_structure_new ("v4l2deviceprovider",
          "api.v4l2.path", G_TYPE_STRING, node,
          "device.bus_path", G_TYPE_STRING, "platform-rig-usb-0:1.0", NULL);
      if (caps)
        devices = g_list_append (devices, g_object_new (rig_camera_get_type (),
                "display-name", parts[0], "device-class", "Video/Source",
                "caps", caps, "properties", props, NULL));
      if (caps)
        gst_caps_unref (caps);
      gst_structure_free (props);
      g_free (node);
    }
    g_strfreev (parts);
  }
  g_strfreev (lines);
  g_free (text);
  return devices;
}

static void
rig_camera_provider_class_init (RigCameraProviderClass * klass)
{
  GstDeviceProviderClass *dp = GST_DEVICE_PROVIDER_CLASS (klass);
  dp->probe = rig_camera_provider_probe;
  gst_device_provider_class_set_static_metadata (dp, "Rig cameras",
      "Source/Video", "USB cameras the test rig describes", "Telemed Terminal rig");
}

static void rig_camera_provider_init (RigCameraProvider * self) { }

static gboolean
plugin_init (GstPlugin * plugin)
{
  return gst_device_provider_register (plugin, "rigcameraprovider", GST_RANK_PRIMARY,
      rig_camera_provider_get_type ());
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, rigcameraprovider,
    "The test rig's simulated USB cameras", plugin_init, "1.0", "LGPL", "telemed-rig",
    "https://example.invalid/telemed")
