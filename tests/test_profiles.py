"""Profiles: the three shipped YAML files load, and bad files fail with one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from mtlib import paths
from mtlib.report.profiles import (
    MTAT_ROOT_ENV,
    Profile,
    ProfileError,
    differences,
    field_names,
    flatten,
    load_profile,
    resolve,
)


def write_variant(tmp_path: Path, name: str = "variant", **edits) -> Path:
    """configs/smoke.yaml with ``edits`` ({"section.key": value}, None deletes) as a new file."""
    raw = yaml.safe_load((paths.configs_dir() / "smoke.yaml").read_text())
    for dotted, value in edits.items():
        *section, key = dotted.split(".")
        target = raw[section[0]] if section else raw
        if value is None:
            del target[key]
        else:
            target[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_shipped_profiles_load(name):
    p = load_profile(name)
    assert p.name == name
    assert set(p.to_flat()) == set(field_names())
    # Round trip: the flat (papermill) form rebuilds the same frozen profile.
    assert Profile(**p.to_flat()) == p
    assert p.parameters()["profile"] == name and "name" not in p.parameters()


def test_profiles_scale_as_documented():
    smoke, quick, full = (load_profile(n) for n in ("smoke", "quick", "full"))
    assert smoke.data_source == quick.data_source == "standin" and full.data_source == "mtat"
    assert smoke.data_clips < quick.data_clips
    assert (full.shallow_epochs, full.shallow_long_epochs, full.shallow_trials) == (30, 40, 5)
    assert full.table1_pairs == ((1024, 1024), (1024, 512), (512, 512), (512, 256), (256, 256),
                                 (256, 128), (128, 128))
    assert full.search_lrs == (0.1, 0.05, 0.01, 0.005, 0.001)
    assert full.search_filters == (8, 16, 32, 64, 128)
    assert full.search_momenta[0] == 0.9 and full.search_momenta[-1] == 0.99
    assert full.table2_group_counts == (2, 4, 8, 16) and 0.2 in full.table2_dropouts
    assert smoke.shallow_epochs == 1 and smoke.shallow_trials == 1
    for p in (smoke, quick):
        assert p.shallow_epochs <= full.shallow_epochs
        assert p.shallow_trials <= full.shallow_trials


def test_unknown_key_names_file_and_lists_valid_keys(tmp_path):
    path = write_variant(tmp_path, **{"shallow.epochz": 3})
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    msg = str(err.value)
    assert str(path) in msg and "'shallow.epochz'" in msg
    assert "shallow.epochs" in msg and "search.momenta" in msg  # the valid keys are listed


def test_unknown_section_and_non_mapping_section(tmp_path):
    with pytest.raises(ProfileError, match="unknown key 'training'.*sections: data"):
        load_profile(write_variant(tmp_path, training={"epochs": 3}))
    with pytest.raises(ProfileError, match="section 'shallow': expected a mapping"):
        load_profile(write_variant(tmp_path, shallow=5))


def test_missing_key(tmp_path):
    with pytest.raises(ProfileError, match=r"missing key\(s\) \['table1.logmel'\]"):
        load_profile(write_variant(tmp_path, **{"table1.logmel": None}))


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"shallow.trials": "five"}, "shallow.trials = 'five': expected an integer >= 1"),
        ({"shallow.trials": True}, "shallow.trials = True: expected an integer >= 1"),
        ({"shallow.trials": 2.0}, "shallow.trials = 2.0: expected an integer >= 1"),
        ({"shallow.max_train_clips": 0}, "shallow.max_train_clips = 0: expected null or an"),
        ({"search.lrs": [0.1, "x"]}, "search.lrs = [0.1, 'x']: expected a non-empty list"),
        ({"search.lrs": []}, "search.lrs = []: expected a non-empty list"),
        ({"table1.pairs": [[256, 512]]}, "length >= stride"),
        ({"table1.pairs": [[256, 256, 1]]}, "table1.pairs"),
        ({"shallow.epochs": 0}, "shallow.epochs = 0: expected an integer >= 1"),
        ({"shallow.long_epochs": 0}, "shallow.long_epochs"),
        ({"shallow.long_epochs": 0.5}, "shallow.long_epochs = 0.5: expected an integer"),
        ({"samplecnn.long_epochs": 1, "samplecnn.epochs": 2},
         "samplecnn.long_epochs = 1: expected >= samplecnn.epochs (2)"),
        ({"search.input_norms": ["none", "zscore"]}, "none, standardise, minmax"),
        ({"search.filters": [8, 8]}, "distinct"),
        ({"table2.dropouts": [1.5]}, "dropout p in"),
        ({"data.split": "standard"}, "dieleman for a stand-in corpus"),
        ({"data.source": "youtube"}, "unknown data.source 'youtube'; valid: standin, mtat"),
        ({"data.clips": 3}, "data.clips = 3: expected at least 16 stand-in clips"),
        ({"data.name": "  "}, "data.name = '  ': expected a non-empty dataset name"),
        ({"data.require_tag": "yes"}, "data.require_tag = 'yes': expected true or false"),
        ({"executor": "slurm"}, "unknown executor 'slurm'; valid: local, ray"),
    ],
)
def test_bad_values_fail_with_the_key_and_the_expectation(tmp_path, edit, message):
    path = write_variant(tmp_path, **edit)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    msg = str(err.value)
    assert message in msg and msg.startswith(f"{path}: ") and "\n" not in msg


def test_unknown_profile_name_lists_the_shipped_ones():
    with pytest.raises(ProfileError, match="valid: full, quick, rehearsal, smoke"):
        load_profile("huge")


def test_mtat_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(MTAT_ROOT_ENV, raising=False)
    assert load_profile("full").data_root is None
    monkeypatch.setenv(MTAT_ROOT_ENV, str(tmp_path / "env"))
    assert load_profile("full").data_root == str(tmp_path / "env")
    assert load_profile("full", data_root=str(tmp_path / "flag")).data_root == str(
        tmp_path / "flag")
    # A stand-in profile has no data root to override.
    assert load_profile("smoke").data_root is None


def test_resolve_applies_notebook_parameters():
    namespace = {"profile": "smoke", "shallow_epochs": 2, "table1_pairs": [[512, 256]],
                 "data_root": None, "unrelated": object()}
    p = resolve("smoke", namespace)
    assert p.name == "smoke" and p.shallow_epochs == 2
    assert p.table1_pairs == ((512, 256),)
    assert p.shallow_trials == load_profile("smoke").shallow_trials
    with pytest.raises(ProfileError, match="shallow.epochs = 0"):
        resolve("smoke", {"shallow_epochs": 0})


def test_replace_rejects_unknown_fields():
    with pytest.raises(ProfileError, match="unknown profile field.*'epochs'.*valid: name"):
        load_profile("smoke").replace(epochs=3)


def test_differences_against_the_report():
    quick, full = load_profile("quick"), load_profile("full")
    diff = dict((f, (a, b)) for f, a, b in differences(quick, full,
                                                       ["shallow_epochs", "table1_pairs"]))
    assert diff == {"shallow_epochs": (quick.shallow_epochs, 30)}


def test_flatten_rejects_a_non_mapping():
    with pytest.raises(ProfileError, match="expected a mapping"):
        flatten(["a", "b"])


def test_profile_is_frozen_and_hashable():
    p = load_profile("smoke")
    with pytest.raises(ValidationError, match="frozen"):
        p.shallow_epochs = 5
    assert hash(p) == hash(Profile(**p.to_flat()))


def test_replace_validates_and_freezes_lists():
    p = load_profile("smoke")
    with pytest.raises(ProfileError, match=r"table2.dropouts = \[0.2, 0.2\]: expected .*distinct"):
        p.replace(table2_dropouts=[0.2, 0.2])
    # A list given for a grid becomes a tuple; an int given for a float grid stays an int (the
    # notebooks pass it on to RunConfig, whose run id hashes 1 and 1.0 differently).
    q = p.replace(search_lrs=[1, 0.5])
    assert q.search_lrs == (1, 0.5) and type(q.search_lrs[0]) is int
    assert q.to_flat()["search_lrs"] == [1, 0.5]


def test_constructor_errors_name_missing_and_unknown_fields():
    flat = load_profile("smoke").to_flat()
    del flat["table1_logmel"]
    with pytest.raises(ProfileError, match=r"missing profile field\(s\) \['table1_logmel'\]"):
        Profile(**flat)
    with pytest.raises(ProfileError, match=r"unknown profile field\(s\) \['epochs'\]; valid: name"):
        Profile(**load_profile("smoke").to_flat(), epochs=3)
