"""irecgan-train's configuration flags, generated from the table of irecgan.config.

Each key of `config.TABLE` becomes one flag of the same name, default and help text; its kind
follows the key's rule (`rule.flag`): an enum of a Choice's options, an integer, a float, a
boolean, a string, or a comma-separated list (split_ratios). A required key (a Str rule with
required=True: data) has no default and must be given. `define_flags` defines them on a
FlagValues of one's own, so tests can parse them without the program's global flags.
"""
from absl import flags

from irecgan import config
from irecgan.errors import UserError

_DEFINE = {"integer": flags.DEFINE_integer, "float": flags.DEFINE_float,
           "boolean": flags.DEFINE_boolean, "string": flags.DEFINE_string}


def definition(key):
    """(DEFINE function, positional arguments, keyword arguments) of the flag of one
    configuration key (a config.Key)."""
    rule = key.rule
    if rule.flag == "enum":
        return flags.DEFINE_enum, (key.name, key.default, list(rule.options), key.help), {}
    if rule.flag == "list":
        return flags.DEFINE_list, (key.name, [str(x) for x in key.default], key.help), {}
    if getattr(rule, "required", False):
        return _DEFINE[rule.flag], (key.name, None, key.help), {"required": True}
    return _DEFINE[rule.flag], (key.name, key.default, key.help), {}


def definitions():
    """The definitions of every key's flag, in the table's order. A program calls them itself
    (absl records the calling module as the one defining a flag, and --help lists a program's
    own flags)."""
    return [definition(key) for key in config.TABLE]


def define_flags(flag_values):
    """Every key's flag on `flag_values` (defined by this module)."""
    for define, args, kwargs in definitions():
        define(*args, flag_values=flag_values, **kwargs)


def config_from_flags(flag_values):
    """The configuration of the parsed `flag_values`, resolved (config.resolve: UserError, one
    line naming --key, for a bad value)."""
    overrides = dict((key, flag_values[key].value) for key in config.DEFAULTS)
    try:
        overrides["split_ratios"] = [float(x) for x in flag_values.split_ratios]
    except ValueError:
        raise UserError("--split_ratios must be numbers, got %s" % flag_values.split_ratios)
    return config.resolve(overrides)
