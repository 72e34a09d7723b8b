"""`lander xtce OUT.xml`: the firmware's packet table as an XTCE (OMG XML
Telemetric and Command Exchange, 1.2 schema namespace 20180204) document.

One abstract root container `CCSDSPacket` holds the primary header
(VERSION, TYPE, SEC_HDR_FLG, PKT_APID, SEQ_FLGS, SRC_SEQ_CTR, PKT_LEN); one
concrete container per APID (restricted on PKT_APID) holds the CUC secondary
header (implicit P-field 0x2E: 4 coarse + 2 fine octets) and the fields, named
`<packet>.<field>`, each with its unit and a polynomial calibrator 10^exp10.
Generated from lander.telemetry.packets, the table the firmware encodes with.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

from host_tools import FIRMWARE_DIR  # noqa: F401  (firmware on sys.path)
from lander.telemetry import packets as P

NS = "http://www.omg.org/spec/XTCE/20180204"
HEADER = (("VERSION", 3, False), ("TYPE", 1, False), ("SEC_HDR_FLG", 1, False),
          ("PKT_APID", 11, False), ("SEQ_FLGS", 2, False), ("SRC_SEQ_CTR", 14, False),
          ("PKT_LEN", 16, False))
_BITS = {"B": (8, False), "b": (8, True), "H": (16, False), "h": (16, True), "I": (32, False), "i": (32, True)}


def _q(tag):
    return "{%s}%s" % (NS, tag)


def _type_name(bits, signed, unit="", exp10=0):
    name = "%s%d" % ("I" if signed else "U", bits)
    if unit or exp10:
        name += "_%s_e%d" % (unit.replace("/", "per") or "1", exp10)
    return name.replace("-", "m")


def document() -> ET.ElementTree:
    ET.register_namespace("xtce", NS)
    root = ET.Element(_q("SpaceSystem"), {"name": "lander"})
    tm = ET.SubElement(root, _q("TelemetryMetaData"))
    ptypes = ET.SubElement(tm, _q("ParameterTypeSet"))
    params = ET.SubElement(tm, _q("ParameterSet"))
    conts = ET.SubElement(tm, _q("ContainerSet"))
    made = set()

    def ptype(bits, signed, unit="", exp10=0):
        name = _type_name(bits, signed, unit, exp10)
        if name in made:
            return name
        made.add(name)
        if exp10:
            t = ET.SubElement(ptypes, _q("FloatParameterType"), {"name": name})
        else:
            t = ET.SubElement(ptypes, _q("IntegerParameterType"), {"name": name, "signed": str(signed).lower()})
        if unit:
            us = ET.SubElement(t, _q("UnitSet"))
            ET.SubElement(us, _q("Unit")).text = unit
        enc = ET.SubElement(t, _q("IntegerDataEncoding"),
                            {"sizeInBits": str(bits), "encoding": "twosComplement" if signed else "unsigned"})
        if exp10:
            cal = ET.SubElement(enc, _q("DefaultCalibrator"))
            poly = ET.SubElement(cal, _q("PolynomialCalibrator"))
            ET.SubElement(poly, _q("Term"), {"coefficient": "0", "exponent": "0"})
            ET.SubElement(poly, _q("Term"), {"coefficient": repr(10.0 ** exp10), "exponent": "1"})
        return name

    def param(name, tref, desc=None):
        p = ET.SubElement(params, _q("Parameter"), {"name": name, "parameterTypeRef": tref})
        if desc:
            p.set("shortDescription", desc)

    for name, bits, signed in HEADER + (("CUC_COARSE", 32, False), ("CUC_FINE", 16, False)):
        param(name, ptype(bits, signed))
    base = ET.SubElement(conts, _q("SequenceContainer"), {"name": "CCSDSPacket", "abstract": "true"})
    el = ET.SubElement(base, _q("EntryList"))
    for name, _b, _s in HEADER:
        ET.SubElement(el, _q("ParameterRefEntry"), {"parameterRef": name})
    for apid, pname, fields in P.PACKETS:
        c = ET.SubElement(conts, _q("SequenceContainer"), {"name": pname})
        c.set("shortDescription", "APID 0x%03X" % apid)
        el = ET.SubElement(c, _q("EntryList"))
        ET.SubElement(el, _q("ParameterRefEntry"), {"parameterRef": "CUC_COARSE"})
        ET.SubElement(el, _q("ParameterRefEntry"), {"parameterRef": "CUC_FINE"})
        for f in fields:
            bits, signed = _BITS[f[1]]
            full = "%s.%s" % (pname, f[0])
            param(full, ptype(bits, signed, f[5], f[6]), "%s.%s" % ("lander", f[3]))
            ET.SubElement(el, _q("ParameterRefEntry"), {"parameterRef": full})
        bc = ET.SubElement(c, _q("BaseContainer"), {"containerRef": "CCSDSPacket"})
        rc = ET.SubElement(bc, _q("RestrictionCriteria"))
        ET.SubElement(rc, _q("Comparison"), {"parameterRef": "PKT_APID", "value": str(apid),
                                             "useCalibratedValue": "false"})
    ET.indent(root)
    return ET.ElementTree(root)


def add_arguments(parser):
    parser.add_argument("out", metavar="OUT.xml", help="where to write the XTCE document")


def run(args) -> int:
    try:
        document().write(args.out, xml_declaration=True, encoding="utf-8")
    except OSError as exc:
        print("lander xtce: %s: %s" % (args.out, exc.strerror or exc), file=sys.stderr)
        return 2
    print("lander xtce: wrote %s (%d packet definitions)" % (args.out, len(P.PACKETS)))
    return 0
