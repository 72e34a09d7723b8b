# Low-gain-antenna telemetry: CCSDS Space Packets (packets.py: the one packet
# table, encoder.py), TM Transfer Frames with FECF, Reed-Solomon and the ASM
# (frames.py, rs.py), the black box (blackbox.py) and the scheduler paced at the
# over-the-air bit rate (stage.py).
