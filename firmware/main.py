# Board entry point, copied to the board's root with board.py beside it and
# config.json (the parameter set written by `lander deploy`; calibration by
# `lander bench`).
import board
from lander.app import App
from lander.config import load_json


def load_config(path="config.json"):
    """(Config, reason): a missing or refused file flies the defaults and the
    executive refuses to arm, naming the reason (EV_CONFIG_BAD)."""
    cfg, why, _arg = load_json(path)
    return cfg, why


if getattr(board, "HIL", False):
    # the host drives this board over the link: `lander hil` starts
    # lander.hil.serve through the raw REPL; nothing runs on its own
    print("HIL board: waiting for `lander hil`")
else:
    cfg, why = load_config()
    app = App(board.make_board(), cfg, cfg_status=why)
    app.run_forever()
