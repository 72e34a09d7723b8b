# Board entry point, copied to the board's root with board.py beside it.
import board
from lander.app import App

app = App(board.make_board())
app.run_forever()
