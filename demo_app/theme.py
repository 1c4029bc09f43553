"""The demo's colours, each named once. The .kv files read them as ``theme.NAME``
(``#:import theme demo_app.theme`` in demo.kv); Python reads them from here too."""

# surfaces and text
BACKGROUND = (0.953, 0.957, 0.973, 1)
CARD = (1, 1, 1, 1)
LINE = (0.88, 0.89, 0.92, 1)
TEXT = (0.11, 0.12, 0.16, 1)
MUTED = (0.42, 0.44, 0.51, 1)
WHITE = (1, 1, 1, 1)
FIELD = (0.97, 0.97, 0.99, 1)
PRESSED_ROW = (0.94, 0.94, 0.97, 1)
DISABLED = (0.75, 0.76, 0.80, 1)
SWITCH_OFF = (0.78, 0.79, 0.83, 1)

# the brand: buttons, links, the bars
PRIMARY = (0.31, 0.28, 0.85, 1)
PRIMARY_SOFT = (0.91, 0.90, 0.99, 1)
PRIMARY_SOFT_PRESSED = (0.82, 0.80, 0.97, 1)
PRIMARY_LIGHT = (0.62, 0.60, 1, 1)      # the active tab's marker, on the dark bar
BAR = (0.16, 0.15, 0.36, 1)
# on the dark bars: white, at strengths
ON_BAR_DIM = (1, 1, 1, 0.66)         # an inactive tab's label
ON_BAR_TINT = (1, 1, 1, 0.12)        # the active tab's background
ON_BAR_BUTTON = (1, 1, 1, 0.08)      # the back button
ON_BAR_PRESSED = (1, 1, 1, 0.18)
ON_FILL_DISABLED = (1, 1, 1, 0.7)    # the label of a disabled filled button
CLEAR = (0, 0, 0, 0)
SNACKBAR = (0.20, 0.20, 0.26, 0.96)

# signals
GREEN = (0.13, 0.58, 0.33, 1)
AMBER = (0.93, 0.62, 0.07, 1)
ORANGE = (0.89, 0.40, 0.09, 1)
RED = (0.80, 0.18, 0.20, 1)
GREY = (0.62, 0.63, 0.68, 1)
PURPLE = (0.49, 0.25, 0.80, 1)
MAGENTA = (0.72, 0.20, 0.52, 1)
SLATE = (0.33, 0.43, 0.58, 1)
CHARCOAL = (0.27, 0.28, 0.33, 1)

#: an event log row's delivery state
STATE = {"queued": AMBER, "sent": GREEN, "retrying": ORANGE, "dropped": RED,
         "blocked": MAGENTA, "filtered": SLATE, "erased": CHARCOAL}
