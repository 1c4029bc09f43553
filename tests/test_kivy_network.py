"""segment_statsig.kivy.track_network: on Android, ConnectivityManager's default network
active listener and the connectivity broadcast reach the radio seam, with pyjnius and
python-for-android's android.broadcast as stand-ins (as the glue's other Android paths
are tested), end to end against a real Analytics and the loopback fake Statsig."""
import os
import sys
import tempfile
import time
import types

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONFIG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

from segment_statsig import Analytics, StatsigDestination  # noqa: E402
from segment_statsig.kivy import track_network  # noqa: E402

KEY = "client-kivy-network"


class ConnectivityManager:
    """What the glue asks of android.net.ConnectivityManager."""

    def __init__(self):
        self.network = object()  # the active network (None: offline)
        self.listeners = []

    def getActiveNetwork(self):
        return self.network

    def addDefaultNetworkActiveListener(self, listener):
        self.listeners.append(listener)

    def removeDefaultNetworkActiveListener(self, listener):
        self.listeners.remove(listener)


class Receivers:
    """python-for-android's android.broadcast, as a module: BroadcastReceiver(callback, actions)."""

    def __init__(self):
        self.started = []

    def module(self):
        receivers = self

        class BroadcastReceiver:
            def __init__(self, callback, actions=None, categories=None):
                self.callback, self.actions = callback, actions

            def start(self):
                receivers.started.append(self)

            def stop(self):
                receivers.started.remove(self)

        return types.SimpleNamespace(BroadcastReceiver=BroadcastReceiver)

    def send(self, action):
        for receiver in list(self.started):
            if action in receiver.actions:
                receiver.callback("context", types.SimpleNamespace(getAction=lambda: action))


def stand_ins(monkeypatch):
    manager = ConnectivityManager()
    activity = types.SimpleNamespace(getSystemService=lambda name: manager if name == "connectivity" else None)
    classes = {"org.kivy.android.PythonActivity": types.SimpleNamespace(mActivity=activity),
               "android.content.Context": types.SimpleNamespace(CONNECTIVITY_SERVICE="connectivity")}
    jnius = types.SimpleNamespace(autoclass=classes.__getitem__, PythonJavaClass=object,
                                  java_method=lambda signature: (lambda f: f))
    receivers = Receivers()
    monkeypatch.setitem(sys.modules, "jnius", jnius)
    monkeypatch.setitem(sys.modules, "android", types.SimpleNamespace())
    monkeypatch.setitem(sys.modules, "android.broadcast", receivers.module())
    return manager, receivers


def make(tmp_path, fake_statsig):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}})
    analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02, retry_max=0.1))
    return analytics


def test_the_apps_traffic_carries_pending_events(monkeypatch, tmp_path, fake_statsig):
    manager, _ = stand_ins(monkeypatch)
    analytics = make(tmp_path, fake_statsig)
    binding = track_network(analytics, "android")
    analytics.track("Held")
    assert not fake_statsig.wait_for_events(1, timeout=0.4)  # held for the radio
    (listener,) = manager.listeners
    listener.onNetworkActive()  # Android: the app's own request woke the radio
    assert fake_statsig.wait_for_events(1, timeout=5)
    binding.unbind()
    assert manager.listeners == []
    analytics.shutdown(2)


def test_the_connectivity_broadcast_makes_offline_quiet(monkeypatch, tmp_path, fake_statsig):
    manager, receivers = stand_ins(monkeypatch)
    manager.network = None  # started offline
    analytics = make(tmp_path, fake_statsig)
    try:  # (offline holds every request of the process: the Analytics is shut down whatever happens)
        binding = track_network(analytics, "android")
        assert analytics.radio.available is False
        analytics.track("Offline")
        analytics.flush()
        time.sleep(0.5)
        assert fake_statsig.requests == []
        manager.network = object()
        receivers.send("android.net.conn.CONNECTIVITY_CHANGE")
        assert analytics.radio.available is True
        assert fake_statsig.wait_for_events(1, timeout=5)
        binding.unbind()
        assert receivers.started == []
    finally:
        analytics.shutdown(2)


def test_without_pyjnius_or_off_android_nothing_is_bound(monkeypatch, tmp_path, fake_statsig, caplog):
    analytics = make(tmp_path, fake_statsig)
    track_network(analytics, "linux").unbind()
    monkeypatch.setitem(sys.modules, "jnius", None)  # import fails
    track_network(analytics, "android").unbind()
    assert "ConnectivityManager unavailable" in caplog.text
    assert analytics.radio.available is True
    analytics.shutdown(2)
