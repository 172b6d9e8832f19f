"""Shell completion of SPEC: spec files and folders under the typed path, and built-in names."""

from click.testing import CliRunner

from archcalc.cli import cli


def complete(*words: str) -> list[str]:
    env = {"_ARCHCALC_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(["archcalc", *words]),
           "COMP_CWORD": str(len(words))}
    result = CliRunner().invoke(cli, [], prog_name="archcalc", env=env)
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines() if line]


def test_spec_completes_files_and_builtin_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("input: [3, 8, 8]\n")
    (tmp_path / "resnet_mine.yml").write_text("input: [3, 8, 8]\n")
    (tmp_path / "brochure.txt").write_text("not a spec")
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "tiny.yaml").write_text("input: [3, 8, 8]\n")
    assert complete("summary", "bro") == ["broken.yaml"]
    found = complete("compare", "vgg16", "res")
    assert found[0] == "resnet_mine.yml" and {"resnet18", "resnet50", "resnet152"} <= set(found[1:])
    assert complete("memory", "ne") == ["nets/"]
    assert complete("profile", "nets/t") == ["nets/tiny.yaml"]
    assert complete("summary", "no_such_dir/x") == []
