#!/usr/bin/python3
"""A stand-in IP camera: serves a video file over RTSP as a live H.264 stream, looping forever.

Runs under Debian's ``/usr/bin/python3`` (python3-gi, gir1.2-gst-rtsp-server-1.0), not the venv.

One player pipeline decodes the file at real speed, seeking back to the start at its end, and
publishes raw frames on an ``intervideo`` channel; every RTSP path is a live source reading that
channel at ``--fps``, encoded with ``openh264enc`` (x264 is not in Debian's GStreamer build). So the
stream never ends, a client that connects late sees "now" like on a real camera, and N paths serve
N independent cameras of the same clip (for the live capacity benchmark). Clients of one path share
its encoder. ``--user``/``--password`` require basic authentication, like a camera with credentials.

Prints ``READY rtsp://HOST:PORT/PATH ...`` on stdout once it listens; stops on SIGTERM or SIGINT.

    /usr/bin/python3 scripts/rtsp_server.py --port 8554 --path /cam1 --file vtest.avi [--paths 4]
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

CHANNEL = "matthan-clip"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", required=True, help="video file to loop")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="/cam1", help="mount path; with --paths N: /cam1 ... /camN from its prefix")
    parser.add_argument("--paths", type=int, default=1, help="serve the clip on this many paths")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--gop", type=int, default=10, help="frames between key frames (recording splits at them)")
    parser.add_argument("--bitrate", type=int, default=1_000_000)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    return parser.parse_args(argv)


def mount_paths(path: str, count: int) -> list[str]:
    path = "/" + path.strip("/")
    if count == 1:
        return [path]
    prefix = path.rstrip("0123456789")
    return [f"{prefix}{i}" for i in range(1, count + 1)]


def start_player(location: str) -> Gst.Pipeline:
    """Decode the file at real speed into the shared channel; seek to the start at its end."""
    player = Gst.parse_launch(
        f'filesrc location="{location}" ! decodebin ! videoconvert ! video/x-raw,format=I420 '
        f"! intervideosink channel={CHANNEL} sync=true"
    )
    bus = player.get_bus()
    bus.add_signal_watch()

    def on_message(_bus: Gst.Bus, message: Gst.Message) -> None:
        if message.type == Gst.MessageType.EOS:
            player.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        elif message.type == Gst.MessageType.ERROR:
            err, _debug = message.parse_error()
            print(f"player error: {err.message}", file=sys.stderr, flush=True)
            sys.exit(2)

    bus.connect("message", on_message)
    player.set_state(Gst.State.PLAYING)
    if player.get_state(10 * Gst.SECOND)[0] == Gst.StateChangeReturn.FAILURE:
        raise SystemExit(f"cannot play {location}")
    return player


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    Gst.init(None)
    player = start_player(args.file)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    launch = (
        f"( intervideosrc channel={CHANNEL} ! video/x-raw,format=I420,framerate={args.fps}/1 ! queue "
        f"! openh264enc gop-size={args.gop} bitrate={args.bitrate} complexity=low "
        "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    mounts = server.get_mount_points()
    paths = mount_paths(args.path, args.paths)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
    for path in paths:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        if args.user:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_role("camera-user")
            permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
            permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
            factory.set_permissions(permissions)
        mounts.add_factory(path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, loop.quit)
    print("READY " + " ".join(f"rtsp://{args.host}:{args.port}{p}" for p in paths), flush=True)
    try:
        loop.run()
    finally:
        player.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
