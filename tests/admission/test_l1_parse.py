"""L1 parse: pure AST checks, no sandbox."""

from __future__ import annotations

import textwrap

import pytest

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.l1_parse import check_parse

from .conftest import GOOD, env_code

BODY = '''
    name = "t"
    description = "d"
    max_difficulty = 5

    def sample(self, seed, difficulty):
        return {"n": seed}

    def prompt(self, instance):
        return "<answer>"

    def reference(self, instance):
        return "1"

    def score(self, instance, answer):
        return 0.0
'''


def parse(code: str):
    return check_parse(Candidate(textwrap.dedent(code)), AdmissionContext(sandbox=None, config=AdmissionConfig()))


def test_plain_class_passes():
    result = parse("class Env:" + BODY)
    assert result.passed is True and result.stage == "L1"
    assert result.details["class_name"] == "Env"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_unusual_good_styles_pass(path):
    result = parse(path.read_text())
    assert result.passed is True, result.reason


def test_syntax_error_names_line():
    result = parse("class Env:\n    def sample(self, seed, difficulty)\n        return {}\n")
    assert result.passed is False
    assert result.reason.startswith("not valid Python: line 2")


def test_wrong_arity_is_named_with_line():
    code = ("class Env:" + BODY).replace("def score(self, instance, answer)", "def score(self, answer)")
    line = next(i for i, text in enumerate(code.splitlines(), 1) if "def score" in text)
    result = parse(code)
    assert result.passed is False
    assert "score(self, answer) accepts 1 argument(s) after self" in result.reason
    assert f"line {line}:" in result.reason


def test_too_many_required_arguments():
    result = parse(("class Env:" + BODY).replace("def prompt(self, instance)", "def prompt(self, instance, style)"))
    assert result.passed is False and "prompt(self, instance, style) requires 2 arguments" in result.reason


def test_defaults_varargs_staticmethods_are_fine():
    code = ("class Env:" + BODY).replace("def prompt(self, instance)", "def prompt(self, instance, style='x')") \
        .replace("def sample(self, seed, difficulty)", "def sample(self, *args)") \
        .replace("    def reference(self, instance)", "    @staticmethod\n    def reference(instance)")
    assert parse(code).passed is True


def test_staticmethod_with_self_counts_self():
    code = ("class Env:" + BODY).replace("    def reference(self, instance)", "    @staticmethod\n    def reference(self, instance)")
    result = parse(code)
    assert result.passed is False and "reference(self, instance) requires 2 arguments" in result.reason


def test_required_keyword_only_fails():
    result = parse(("class Env:" + BODY).replace("def score(self, instance, answer)", "def score(self, instance, answer, *, strict)"))
    assert result.passed is False and "keyword-only" in result.reason and "strict" in result.reason


def test_missing_member_is_listed():
    result = parse(("class Env:" + BODY).replace('    description = "d"\n', ""))
    assert result.passed is False and "lacks description" in result.reason


def test_attribute_only_set_in_init_is_explained():
    code = ("class Env:" + BODY).replace('    name = "t"\n', "    def __init__(self):\n        self.name = 't'\n")
    result = parse(code)
    assert result.passed is False and "sets name only on the instance" in result.reason


def test_two_contract_classes_fail():
    result = parse("class A:" + BODY + "\n\nclass B(A):\n    pass\n")
    assert result.passed is False and "2 classes have the contract's members (A, B)" in result.reason


def test_helper_classes_and_inherited_members_pass():
    code = "class Base:\n    def score(self, instance, answer):\n        return 0.0\n\nclass Env(Base):" + \
        BODY.replace("    def score(self, instance, answer):\n        return 0.0\n", "")
    result = parse(code)
    assert result.passed is True and result.details["helper_classes"] == ["Base"]


def test_sdk_subclass_may_rely_on_base_attributes():
    code = "from evoenv.sdk import Environment\n\nclass Env(Environment):" + BODY.replace('    max_difficulty = 5\n', "")
    assert parse(code).passed is True


def test_static_policy_rejects_forbidden_import_with_line():
    result = parse("import os\n\nclass Env:" + BODY)
    assert result.passed is False and result.reason.startswith("static policy:") and "os" in result.reason


def test_no_class_and_empty_source():
    assert "no class defined" in parse("x = 1\n").reason
    assert parse("   \n").reason == "source is empty"


def test_max_difficulty_literal_out_of_range():
    result = parse(("class Env:" + BODY).replace("max_difficulty = 5", "max_difficulty = 0"))
    assert result.passed is False and "max_difficulty is 0" in result.reason


def test_source_size_cap():
    result = check_parse(Candidate("class Env:" + BODY + "#" * 300_000),
                         AdmissionContext(sandbox=None, config=AdmissionConfig()))
    assert result.passed is False and "over the 200000-byte limit" in result.reason


def test_method_used_as_name_is_rejected():
    code = ("class Env:" + BODY).replace('    name = "t"\n', "    def name(self):\n        return 't'\n")
    result = parse(code)
    assert result.passed is False and "name is a method" in result.reason


def test_good_env_files_are_what_the_other_tests_use():
    assert "class PlantedSubsetSum" in env_code("good_dataclass_subset")


def test_a_method_without_self_is_named_as_written():
    code = ("class Env:" + BODY).replace("def sample(self, seed, difficulty)", "def sample(seed, difficulty)")
    result = parse(code)
    assert result.passed is False
    assert "sample(seed, difficulty) lacks self" in result.reason and "@staticmethod" in result.reason
    assert "sample(self" not in result.reason


def test_shown_signature_uses_the_file_s_own_receiver_name():
    code = ("class Env:" + BODY).replace("def score(self, instance, answer)", "def score(this)")
    result = parse(code)
    assert result.passed is False and "score(this) accepts 0 argument(s)" in result.reason


def test_builtin_named_parameter_enum_members_and_future_import_pass():
    code = ("from __future__ import annotations\nimport enum\n\nclass H(enum.Enum):\n    N = 1\n\n"
            "ORDER = list(H.__members__)\n\ndef encode(input: str) -> str:\n    return input.upper()\n\n"
            "class Env:" + BODY)
    result = parse(code)
    assert result.passed is True, result.reason
