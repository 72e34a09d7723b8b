# Board entry point, copied to the board's root with board.py beside it and
# config.json (the parameter set written by `lander deploy`; calibration by
# `lander bench`).
import board
from lander.app import App
from lander.config import Config


def load_config(path="config.json"):
    try:
        import json
        with open(path) as f:
            params = json.load(f).get("params", {})
        return Config(**params)
    except (OSError, ValueError):
        return Config()


if getattr(board, "HIL", False):
    # the host drives this board over the link: `lander hil` starts
    # lander.hil.serve through the raw REPL; nothing runs on its own
    print("HIL board: waiting for `lander hil`")
else:
    app = App(board.make_board(), load_config())
    app.run_forever()
