"""The minifier's class-private attribute pass (host_tools/board/minify.py,
private_attributes / rename_tables): an attribute only one class's own
methods name as `self.NAME` takes a name from one pool shared by the
classes; anything that could reach it otherwise keeps it out. Each test is
one rule on a small source, and fails when the rule breaks."""
import pytest

from host_tools.board import minify


def _tables(text: str, board_side: str = "", others: dict | None = None) -> tuple:
    """(renamed text, global table, {"Class.new": "old"}) of a one-module
    closure whose board side calls its run()."""
    out, names, by_class = minify.rename_tables({"m.py": text}, board_side + "\nrun()\n", others=others or {})
    return out["m.py"], names, by_class


def _private(text: str, others: dict | None = None) -> dict:
    """{class name: {private attribute: references}}."""
    trees = {"m.py": minify.ast.parse(text)}
    keep = minify.keep_words({"m.py": text}, trees, "")
    other_trees = {p: minify.ast.parse(t) for p, t in (others or {}).items()}
    return {key[2]: names for key, names in minify.private_attributes(trees, keep, other_trees).items()}


def _run(text: str):
    ns: dict = {}
    exec(compile(text, "m.py", "exec"), ns)
    return ns["run"]()


TWO = '''\
class Gauge:
    def __init__(self, k):
        self.bias_q8 = k
        self.offset_raw = 3

    def value(self, raw):
        return (raw + self.offset_raw) * self.bias_q8 + self.offset_raw


class Valve:
    def __init__(self):
        self.open_count = 0

    def cycle(self):
        self.open_count += 1
        return self.open_count


def run():
    g = Gauge(2)
    v = Valve()
    v.cycle()
    return g.value(5), v.cycle()
'''


def test_two_classes_name_their_private_attributes_from_one_pool():
    out, names, by_class = _tables(TWO)
    # the most-referenced private attribute of each class takes the pool's first name
    first = {label.split(".")[0]: label.split(".")[1] for label, old in by_class.items()
             if old in ("offset_raw", "open_count")}
    assert first["Gauge"] == first["Valve"]
    assert by_class["Gauge.%s" % first["Gauge"]] == "offset_raw"
    assert by_class["Valve.%s" % first["Valve"]] == "open_count"
    scale = next(label for label, old in by_class.items() if old == "bias_q8")
    assert scale.split(".")[1] != first["Gauge"]
    # one pool: two names for the three attributes; none in the global table
    assert len({label.split(".")[1] for label in by_class}) == 2
    assert not {"offset_raw", "open_count", "bias_q8"} & set(names)
    assert "offset_raw" not in out and "open_count" not in out
    assert _run(out) == _run(TWO) == (19, 2)


def test_pool_names_are_fresh_words_and_not_global_new_names():
    out, names, by_class = _tables(TWO)
    pool = {label.split(".")[1] for label in by_class}
    assert not pool & (minify._name_tokens(TWO) | minify.external_names() | set(names.values()))


def test_an_attribute_read_through_another_object_is_not_private():
    text = TWO.replace("return g.value(5), v.cycle()", "return g.value(5), v.cycle(), g.offset_raw")
    assert "offset_raw" not in _private(text)["Gauge"]
    assert "bias_q8" in _private(text)["Gauge"]
    out, names, by_class = _tables(text)
    assert "offset_raw" not in by_class.values()
    assert _run(out) == _run(text) == (19, 2, 3)


def test_an_attribute_used_by_two_classes_is_not_private():
    text = TWO.replace("self.open_count = 0", "self.open_count = 0\n        self.bias_q8 = 1")
    private = _private(text)
    assert "bias_q8" not in private["Gauge"] and "bias_q8" not in private["Valve"]
    assert "offset_raw" in private["Gauge"]


def test_a_module_beside_the_closure_that_reaches_an_attribute_keeps_it():
    # the perf guest runs the sim board's other drivers beside the board's
    # closure, renamed by the global table only
    beside = {"drivers/x.py": "def peek(g):\n    return g.offset_raw\n"}
    assert "offset_raw" not in _private(TWO, beside)["Gauge"]
    assert "offset_raw" in _private(TWO)["Gauge"]
    # a class of its own beside the closure uses only its own objects
    own = {"drivers/y.py": "class Y:\n    def f(self):\n        return self.offset_raw\n"}
    assert "offset_raw" in _private(TWO, own)["Gauge"]


DECORATED = '''\
class Probe:
    def __init__(self):
        self.level_mm = 4
        self.gain_q4 = 2

    @property
    def reading(self):
        return self.level_mm * 10

    def doubled(self):
        return self.reading * self.gain_q4


def run():
    return Probe().doubled()
'''


def test_a_decorated_methods_attribute_uses_and_its_name_are_not_private():
    private = _private(DECORATED)["Probe"]
    assert "level_mm" not in private          # read in the property
    assert "reading" not in private           # the property itself
    assert "gain_q4" in private
    out, names, by_class = _tables(DECORATED)
    assert _run(out) == _run(DECORATED) == 80


INHERIT = '''\
class Part:
    def __init__(self):
        self.addr_7bit = 0x40

    def where(self):
        return self.addr_7bit


class Sensor(Part):
    def __init__(self):
        Part.__init__(self)
        self.samples_n = 1

    def count(self):
        return self.samples_n + self.where()


class Lone(Exception):
    def __init__(self):
        self.code_word = 7

    def code(self):
        return self.code_word


def run():
    return Sensor().count(), Lone().code()
'''


def test_a_class_of_a_firmware_hierarchy_takes_no_part_and_an_outside_base_does_not_exclude():
    private = _private(INHERIT)
    assert "Part" not in private and "Sensor" not in private
    assert private["Lone"] == {"code_word": 2}
    out, names, by_class = _tables(INHERIT)
    assert list(by_class.values()) == ["code_word"]
    assert {"addr_7bit", "samples_n"} <= set(names)     # by the global table only
    assert _run(out) == _run(INHERIT) == (0x41, 7)


def test_a_base_named_from_another_module_excludes_the_hierarchy_too():
    text = "import lander.parts as p\n\n\n" + INHERIT.replace("class Sensor(Part)", "class Sensor(p.Part)")
    assert "Part" not in _private(text) and "Sensor" not in _private(text)


STRINGS = '''\
class Packet:
    def __init__(self):
        self.seq_no = 1
        self.crc_word = 2

    def field(self):
        return getattr(self, "seq_no") + self.crc_word


def run():
    return Packet().field()
'''


def test_an_attribute_a_hidden_table_names_is_not_private():
    # deploy.hide_tables puts the packet tables aside (their attribute column
    # is renamed by the global table): such a name is given, never private
    out, names, by_class = minify.rename_tables({"m.py": TWO}, "run()", others={}, attributes=("open_count",))
    assert "open_count" not in by_class.values() and "offset_raw" in by_class.values()
    assert names["open_count"]          # renamed by the global table, as the table's column is


def test_a_name_in_a_string_or_on_the_board_side_keeps_its_spelling():
    assert _private(STRINGS)["Packet"] == {"crc_word": 2}
    out, names, by_class = _tables(STRINGS)
    assert "self.seq_no = 1" in out and "seq_no" not in by_class.values()
    assert _run(out) == 3
    out, names, by_class = _tables(STRINGS, board_side="print(x.crc_word)\n")
    assert by_class == {} and "self.crc_word" in out


NESTED = '''\
class Filter:
    def __init__(self):
        self.taps_n = 3
        self.weight_q8 = 5

    def apply(self, xs):
        def one(x):
            return x * self.weight_q8
        return sum(map(one, xs)) + sum(self.taps_n * x for x in xs) + (lambda: self.taps_n)()

    def shadowed(self, other):
        self = other
        return self.bias_raw

    def _helper(self, x):
        return x + self.taps_n

    def total(self, xs):
        return self._helper(self.apply(xs))


def run():
    return Filter().total([1, 2])
'''


def test_a_nested_function_using_self_is_fine_and_a_rebound_self_is_not():
    private = _private(NESTED)["Filter"]
    assert {"taps_n", "weight_q8", "_helper", "apply"} <= set(private) and "total" not in private
    assert "shadowed" in private and "bias_raw" not in private    # its uses count as from outside
    assert minify._method_self(minify.ast.parse(NESTED).body[0].body[2]) is None
    out, names, by_class = _tables(NESTED)
    assert "taps_n" not in out and "weight_q8" not in out and "_helper" not in out
    assert _run(out) == _run(NESTED) == 15 + 9 + 3 + 3


def test_a_method_called_through_self_is_renamed_where_it_is_defined_and_called():
    out, names, by_class = _tables(NESTED)
    new = next(label.split(".")[1] for label, old in by_class.items() if old == "_helper")
    assert "def %s(self, x):" % new in out and "self.%s(self." % new in out


def test_a_nested_function_that_rebinds_self_excludes_the_method():
    text = NESTED.replace("def one(x):", "def one(x, self=None):")
    private = _private(text)["Filter"]
    assert "weight_q8" not in private and "taps_n" not in private


CLASS_LEVEL = '''\
class Table:
    LIMIT_N = 4
    SPARE_N = 9
    DOUBLE_N = SPARE_N * 2

    def cap(self, n, top=LIMIT_N):
        return min(n, top, self.LIMIT_N) + self.SPARE_N + self.DOUBLE_N


def run():
    return Table().cap(7)
'''


def test_a_class_attribute_is_private_unless_the_class_body_names_it():
    private = _private(CLASS_LEVEL)["Table"]
    assert "DOUBLE_N" in private and "cap" not in private      # run() calls it
    assert "LIMIT_N" not in private and "SPARE_N" not in private
    out, names, by_class = _tables(CLASS_LEVEL)
    assert _run(out) == 4 + 9 + 18


def test_a_renaming_that_misses_a_private_attribute_is_refused():
    final = minify.private_attributes({"m.py": minify.ast.parse(TWO)}, set(), {})
    tables = {key: {old: "q%d" % i for i, old in enumerate(sorted(t))} for key, t in final.items()}
    good = minify.apply_private("m.py", TWO, tables)
    minify.check_all("m.py", TWO, good, {}, tables)
    # one place left with its old name: refused
    assert "self.q1 = 3" in good
    bad = good.replace("self.q1 = 3", "self.offset_raw = 3")
    with pytest.raises(minify.MinifyError):
        minify.check_all("m.py", TWO, bad, {}, tables)
