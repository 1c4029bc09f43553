"""The demo app: the frame's behaviour (navigation, the status it shows, the messages
that say what a tap sent). Screens are in screens.py, layout in demo.kv and kv/.

Screen changes are tracked by segment_statsig.kivy.track_screens (no screen calls
here), the lifecycle by bind_lifecycle, the device context by track_device_context.
"""
from __future__ import annotations

import os
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, NumericProperty, StringProperty
from kivy.resources import resource_add_path
from kivy.uix.boxlayout import BoxLayout

from segment_statsig.kivy import StatsigFlags, bind_lifecycle, track_device_context, track_network, track_screens

from .backend import GATE, Backend
from .display import pretty_json
from .screens import BY_NAME, SCREENS, TABS
from .widgets import NavTab

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGE_SECONDS = 6.0  # how long the message bar says what a tap sent


class DemoRoot(BoxLayout):
    title = StringProperty("")
    tab = StringProperty("home")
    can_go_back = BooleanProperty(False)
    mode_text = StringProperty("")
    log_badge = StringProperty("")
    message = StringProperty("")
    message_at_top = BooleanProperty(False)   # away from the finger that made it
    tabs = DictProperty()    # tab -> its NavTab

    def on_kv_post(self, _base):
        for info in SCREENS:
            self.ids.screens.add_widget(info.screen(name=info.name))
        for tab, label, screen in TABS:
            button = NavTab(tab=tab, label=label, screen=screen)
            self.ids.tab_bar.add_widget(button)
            self.tabs[tab] = button
        self.on_tab(self, self.tab)

    def on_tab(self, _root, tab):
        for name, button in self.tabs.items():
            button.active = name == tab

    def on_log_badge(self, _root, badge):
        self.tabs["events"].badge = badge


class StatsigDemoApp(App):
    title = "Segment -> Statsig demo"
    queue_depth = NumericProperty(0)
    sent_count = NumericProperty(0)
    retried_count = NumericProperty(0)
    dropped_count = NumericProperty(0)
    blocked_count = NumericProperty(0)    # kept from Statsig by consent
    filtered_count = NumericProperty(0)   # dropped by a destination filter
    collecting = BooleanProperty(True)    # analytics.enabled (False: opted out)
    offline = BooleanProperty(False)
    can_go_offline = BooleanProperty(False)
    returning = BooleanProperty(False)
    mode_label = StringProperty("")
    key_source = StringProperty("")
    delivery_note = StringProperty("")
    user_text = StringProperty("")
    anonymous_id = StringProperty("")
    window_text = StringProperty("")
    version_text = StringProperty("")

    def __init__(self, data_dir=None, deterministic=False, **kwargs):
        super().__init__(**kwargs)
        self._data_dir = data_dir
        self.deterministic = deterministic
        self.backend = None
        self.analytics = None
        self.screen_tracker = None
        self.lifecycle = None
        self._log_refresh_pending = False
        self.history = []
        self.screens = None
        self.frame = None   # the DemoRoot: top bar, screens, message bar, tabs
        self.started_at = time.time()
        self._stopped = False
        self._last_touch_y = None

    # --- setup --------------------------------------------------------------------------
    @property
    def data_dir(self):
        if self._data_dir:
            return self._data_dir
        try:
            return self.user_data_dir
        except OSError:  # e.g. XDG_CONFIG_HOME names a folder that does not exist
            self._data_dir = os.path.join(os.path.expanduser("~"), ".segment-statsig-demo")
            os.makedirs(self._data_dir, exist_ok=True)
            return self._data_dir

    def build(self):
        self.backend = Backend(self.data_dir, on_change=self._log_changed, deterministic=self.deterministic)
        self.analytics = self.backend.analytics
        self.returning = self.backend.returning
        self.lifecycle = bind_lifecycle(self, self.analytics)
        self.device = track_device_context(self.analytics)
        self.network = track_network(self.analytics)  # Android: the app's traffic and the network, for the radio
        if self.deterministic:  # recordings must not depend on the machine's locale
            self.analytics.set_context(locale="en-US", timezone="UTC")
        else:
            # Fetch gates and experiments now, off the UI thread. (The tour starts the fetch
            # itself, after delivering the first events, as the harness replays it.)
            self.backend.prefetch_values()
        # The Statsig values the KV rules read (app.flags.gates[...], FeatureGate); the fetch
        # starts above, or in the tour, so the flags do not start it. Each check is kept in
        # the recording like the app's other calls.
        self.flags = StatsigFlags(self.backend.destination, gates=[GATE], prefetch=False)
        self.flags.bind(on_check=lambda _flags, kind, name: self.backend.kept_check(kind, name))
        resource_add_path(HERE)  # where demo.kv's #:include finds kv/
        kv = os.path.join(HERE, "demo.kv")
        Builder.unload_file(kv)
        Builder.load_file(kv)
        self.frame = root = DemoRoot()
        self.screens = root.ids.screens
        self.screens.bind(current=self._screen_changed)
        self._screen_changed(self.screens, self.screens.current)
        self.screens.get_screen("profile").show_saved_traits()
        self.screen_tracker = track_screens(self.screens, self.analytics,
                                            name_for=lambda name: BY_NAME[name].tracked_as)
        local = self.backend.mode == "local"
        self.mode_label = "Local Statsig stand-in" if local else "Statsig"
        self.key_source = self.backend.key_source
        self.can_go_offline = local
        root.mode_text = "LOCAL" if local else "STATSIG"
        self.version_text = "1.0.0 (1)"
        self._refresh_status()
        Clock.schedule_interval(self._refresh_status, 0.5)
        Window.bind(size=lambda *_: self._refresh_status())
        Window.bind(on_touch_down=self._remember_touch)
        return root

    def _remember_touch(self, _window, touch):
        self._last_touch_y = touch.y  # where a message must not go (see tell)

    def on_stop(self):
        # Kivy may dispatch on_stop twice. bind_lifecycle's handler ran first (bound
        # handlers run before this method) and shut analytics down, delivering what it could
        # in 0.25 s; the rest waits in the journal for the next start.
        if self._stopped:
            return
        self._stopped = True
        Clock.unschedule(self._refresh_status)
        if self.backend is not None:
            self.backend.stop()

    # --- navigation ---------------------------------------------------------------------
    def show(self, name):
        if name != self.screens.current:
            self.history.append(self.screens.current)
            self.screens.current = name

    def go_back(self):
        self.screens.current = self.history.pop() if self.history else "home"

    def open_product(self, product_id):
        self.screens.get_screen("product").show(product_id)
        self.show("product")

    def checkout(self, product_id):
        self.screens.get_screen("checkout").show(product_id)
        self.show("checkout")

    def open_event(self, number):
        self.screens.get_screen("event").show(number)
        self.show("event")

    def _screen_changed(self, _manager, name):
        root = self.frame
        info = BY_NAME[name]
        root.title = info.title
        root.tab = info.tab
        root.can_go_back = info.back
        root.message = ""  # a message belongs to the screen it was made on
        if info.tab == "events":
            self._refresh_log()
        if name == "profile":
            self.refresh_user_soon()

    def tell(self, text):
        """Say what a tap sent, until the next screen: in a bar above the tabs, or below
        the top bar when the tap was in the lower half (so it does not cover what was tapped)."""
        area = self.screens.parent
        self.frame.message_at_top = self._last_touch_y is not None and self._last_touch_y < area.center_y
        self.frame.message = text
        Clock.unschedule(self._clear_message)
        if not self.deterministic:  # the tour's screenshots show it whatever their timing
            Clock.schedule_once(self._clear_message, MESSAGE_SECONDS)

    def _clear_message(self, *_):
        self.frame.message = ""

    # --- delivery -----------------------------------------------------------------------
    def flush_now(self):
        self.backend.flush_now()

    def toggle_offline(self):
        if self.backend.set_offline(not self.backend.offline):
            self.offline = self.backend.offline
            self._refresh_status()

    def simulate_pause(self):
        """What Kivy does when the OS sends the app to the background."""
        self.dispatch("on_pause")

    def simulate_resume(self):
        self.dispatch("on_resume")

    def _log_changed(self):
        # Called on a worker thread: hop to the UI thread, once per frame at most.
        if not self._log_refresh_pending:
            self._log_refresh_pending = True
            Clock.schedule_once(self._refresh_log, 0)

    def _refresh_log(self, *_):
        self._log_refresh_pending = False
        if self.screens is None:
            return
        log = self.backend.event_log
        self.screens.get_screen("events").ids.log_view.data = log.rows()
        if BY_NAME[self.screens.current].tab == "events":  # seen now
            log.mark_seen()
        if self.screens.current == "event":
            self.screens.get_screen("event").refresh()
        unseen = log.unseen()
        self.frame.log_badge = "" if not unseen else str(unseen) if unseen < 1000 else "999+"
        self._refresh_status()

    def _refresh_status(self, *_):
        backend = self.backend
        stats = backend.stats()
        self.queue_depth = backend.queue_depth()
        self.sent_count = stats["sent"]
        self.retried_count = stats["retried"]
        self.dropped_count = stats["dropped"]
        self.blocked_count = stats["blocked"]
        self.filtered_count = stats["filtered"]
        self.collecting = backend.collecting
        self.offline = backend.offline
        self.anonymous_id = self.analytics.anonymous_id or ""
        self.window_text = "{} x {} px".format(*Window.size)
        if not self.collecting:
            self.delivery_note = "Collection is off (opted out on Privacy): calls write nothing, so no new rows."
        elif backend.offline:
            self.delivery_note = "The stand-in is refusing (503): events stay in the durable queue and retry."
        elif stats["last_error"] and stats["retried"] and self.queue_depth:
            self.delivery_note = "Last error: " + stats["last_error"][:90]
        elif backend.mode == "local":
            self.delivery_note = f"Sending to the local stand-in at {backend.api_url}"
        else:
            self.delivery_note = f"Sending to {backend.api_url}"

    def refresh_user_soon(self):
        # identify is applied on the timeline worker; show the user once it has been.
        Clock.schedule_once(self._refresh_user, 0.3)

    def _refresh_user(self, *_):
        self.user_text = pretty_json(self.backend.destination.user)
