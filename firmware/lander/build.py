# The firmware build id, sent in every beacon. `lander deploy` writes this file
# with the id of what it deploys; 0 is a development build.
from lander.compat import const

BUILD_ID = const(0)
