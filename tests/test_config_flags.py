"""irecgan-train's configuration flags are generated from the table of irecgan.config
(cli/config_flags.py): one flag per key with the key's default and help, parsed back into
exactly DEFAULTS, and a bad value is still the one-line error naming --key."""
import pytest
from absl import flags

from irecgan import config
from irecgan.cli import config_flags
from irecgan.errors import UserError

KINDS = {"integer": flags.DEFINE_integer, "float": flags.DEFINE_float,
         "boolean": flags.DEFINE_boolean, "string": flags.DEFINE_string,
         "enum": flags.DEFINE_enum, "list": flags.DEFINE_list}


def parsed(*argv):
    """A FlagValues of its own with the configuration's flags, `argv` parsed."""
    values = flags.FlagValues()
    config_flags.define_flags(values)
    values(["irecgan-train"] + list(argv))
    return values


def test_the_table_is_defaults_order_and_rules():
    assert list(config.DEFAULTS) == [key.name for key in config.TABLE]
    assert len(config.TABLE) == len(config.DEFAULTS) == 57
    assert list(config.DEFAULTS)[:3] == ["method", "data", "split"]
    assert list(config.DEFAULTS)[-1] == "pretrain_cache"
    assert config.DEFAULTS["split_ratios"] == (0.8, 0.1, 0.1)
    assert config.RULES["gamma"].allowed == "a number in [0, 1]"
    assert config.RULES["max_len"].allowed == "0 or an integer in 2..2147483647"


def test_every_key_is_a_flag_with_the_tables_default_and_help():
    values = flags.FlagValues()
    config_flags.define_flags(values)
    assert sorted(values) == sorted(config.DEFAULTS)
    for key in config.TABLE:
        flag = values[key.name]
        if key.rule.flag == "enum":   # absl puts the choices before an enum's help
            assert flag.help == "<%s>: %s" % ("|".join(key.rule.options), key.help)
        else:
            assert flag.help == key.help, key.name
        if key.name == "data":
            assert flag.default is None   # required: no default
        elif key.name == "split_ratios":
            assert flag.default == ["0.8", "0.1", "0.1"]
        else:
            assert flag.default == key.default and type(flag.default) is type(key.default)
    assert values["method"].parser.enum_values == ["lstm", "pg", "irecgan_nod", "irecgan",
                                            "irecgan_true"]
    assert values["split"].parser.enum_values == ["fold", "ratio", "file"]
    assert values["schedule"].parser.enum_values == ["paper", "reference"]
    assert values["d_data"].parser.enum_values == ["authors", "m"]
    assert values["batch_weighting"].parser.enum_values == ["positions", "batch"]
    assert values["lenient"].flag_type() == "bool"
    assert values["k"].flag_type() == "int"
    assert values["gamma"].flag_type() == "float"
    assert values["purchase_weight"].flag_type() == "string"
    assert values["env_params"].flag_type() == "string"
    assert isinstance(values["split_ratios"].parser, flags.ListParser)


def test_each_rule_kind_maps_to_its_define_function():
    for key in config.TABLE:
        define, args, kwargs = config_flags.definition(key)
        assert define is KINDS[key.rule.flag], key.name
        assert args[0] == key.name and args[-1] == key.help
        assert kwargs == ({"required": True} if key.name == "data" else {})


def test_no_flags_but_the_required_one_resolve_to_exactly_defaults():
    resolved = config_flags.config_from_flags(parsed("--data=some.log"))
    assert resolved == dict(config.DEFAULTS, data="some.log", split_ratios=[0.8, 0.1, 0.1])
    assert list(resolved) == list(config.DEFAULTS)
    assert resolved == config.resolve({"data": "some.log"})
    # the values as they are typed
    resolved = config_flags.config_from_flags(parsed(
        "--data=x.log", "--split_ratios=0.5,0.25,0.25", "--nolenient", "--method=irecgan",
        "--gamma=1", "--purchase_weight=auto", "--k=3"))
    assert resolved["split_ratios"] == [0.5, 0.25, 0.25]
    assert resolved["gamma"] == 1.0 and type(resolved["gamma"]) is float
    assert (resolved["method"], resolved["purchase_weight"], resolved["k"]) == ("irecgan",
                                                                                "auto", 3)


def test_the_data_flag_is_required():
    with pytest.raises(flags.IllegalFlagValueError) as err:
        parsed("--k=3")
    assert "Flag --data must have a value other than None" in str(err.value)


@pytest.mark.parametrize("argv,message", [
    (["--k=0"], "--k must be an integer in 1..2147483647, got 0"),
    (["--gamma=1.5"], "--gamma must be a number in [0, 1], got 1.5"),
    (["--max_len=1"], "--max_len must be 0 or an integer in 2..2147483647, got 1"),
    (["--purchase_weight=-2"], "--purchase_weight must be reference, auto or a number > 0, "
                               "got '-2'"),
    (["--split_ratios=0.5,0.2"], "--split_ratios must be three numbers >= 0 summing to 1 "
                                 "(train,valid,test), got 0.5,0.2"),
    (["--split_ratios=a,b,c"], "--split_ratios must be numbers, got ['a', 'b', 'c']"),
    (["--online_seed=4294967296"], "--online_seed must be an integer in 0..4294967295, "
                                   "got 4294967296"),
    (["--split=file"], "--split=file needs --split_file"),
])
def test_a_bad_flag_value_is_the_one_line_error_naming_the_flag(argv, message):
    values = parsed("--data=some.log", *argv)
    with pytest.raises(UserError) as err:
        config_flags.config_from_flags(values)
    assert str(err.value) == message


def test_a_value_of_the_wrong_kind_is_absls_error():
    with pytest.raises(flags.IllegalFlagValueError) as err:
        parsed("--data=x", "--method=gan")
    assert "value should be one of <lstm|pg|irecgan_nod|irecgan|irecgan_true>" in str(err.value)
