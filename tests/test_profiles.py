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
    run_config,
    run_fields,
)


def write_variant(tmp_path: Path, name: str = "variant", **edits) -> Path:
    """A profile extending smoke that changes ``edits`` ({"section.key": value}), each with a
    reason; a section or top-level key given without a dot is written as it is."""
    raw: dict = {"extends": "smoke", "description": "A variant of smoke."}
    for dotted, value in edits.items():
        *section, key = dotted.split(".")
        entry = {"value": value, "why": "a test"}
        if section:
            raw.setdefault(section[0], {})[key] = entry
        else:
            raw[key] = entry if key == "executor" else value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def write_full_without(tmp_path: Path, dotted: str) -> Path:
    """configs/full.yaml without key ``dotted``, as a new file."""
    raw = yaml.safe_load((paths.configs_dir() / "full.yaml").read_text())
    section, key = dotted.split(".")
    del raw[section][key]
    path = tmp_path / "variant.yaml"
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
        load_profile(write_full_without(tmp_path, "table1.logmel"))


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


# --- profiles as overrides of full ------------------------------------------------------------
PINNED = {
    "full": {"data_source": "mtat", "data_split": "standard", "shallow_epochs": 30,
             "search_lrs": (0.1, 0.05, 0.01, 0.005, 0.001), "samplecnn_segments": 10,
             "future_stride": None},
    "quick": {"data_source": "standin", "data_name": "standin-quick-2", "data_clips": 1000,
              "data_split": "dieleman", "shallow_epochs": 15, "shallow_output_prior": True,
              "search_start_lr": 0.1, "search_lrs": (0.1, 0.05, 0.01), "table1_logmel": False,
              "samplecnn_norms": ("group", "batch"), "samplecnn_amp": True,
              "future_stride": 1024, "executor": "local"},
    "smoke": {"data_clips": 48, "data_split": "dieleman", "search_keep_filters": 16,
              "table1_pairs": ((1024, 1024), (256, 256)), "samplecnn_batch_clips": 4,
              "samplecnn_segments": 3, "table2_dropouts": (0.2,)},
    "rehearsal": {"data_mtat_ids": True, "data_split": "standard", "data_require_tag": True,
                  "samplecnn_max_train_clips": 4, "samplecnn_segments": 10,
                  "search_keep_filters": 32},
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_resolved_profiles_keep_their_values(name):
    p = load_profile(name)
    assert {f: getattr(p, f) for f in PINNED[name]} == PINNED[name]


@pytest.mark.parametrize("name", ["quick", "smoke", "rehearsal"])
def test_smaller_profiles_state_only_what_they_change(name):
    raw = yaml.safe_load((paths.configs_dir() / f"{name}.yaml").read_text())
    assert raw["extends"] == "full" and "deviations" not in raw
    full, p = load_profile("full"), load_profile(name)
    changed = {f"{s}_{k}" for s in raw if isinstance(raw[s], dict) for k in raw[s]}
    assert changed == {f for f in field_names() if f not in ("name", "description", "deviations")
                       and getattr(p, f) != getattr(full, f)}
    assert p.description == raw["description"]


def test_reasons_sit_beside_keys_and_inherit_from_full():
    full, quick, rehearsal = (load_profile(n) for n in ("full", "quick", "rehearsal"))
    # A reason beside a key explains the settings that key moves (search.start_lr: search.start).
    assert quick.reason("search.start").startswith("Measured on an earlier quick grid")
    assert quick.reason("samplecnn.precision").startswith("bf16 autocast")
    assert quick.reason("data.clips").startswith("The stand-in's folder split")
    # A departure the profile keeps from full keeps full's reason.
    assert quick.reason("table2.selection") == full.reason("table2.selection")
    assert rehearsal.reason("data.clips") == full.reason("data.clips")
    # A key quick sets back to the report's value carries no ledger reason (nothing departs).
    assert quick.reason("table1.logmel") == ""


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"description": "d", "shallow": {"epochs": {"value": 3, "why": "x"}}},
         "missing key(s)"),
        ({"extends": "full", "description": "d", "shallow": {"epochz": {"value": 3, "why": "x"}}},
         "unknown key(s) ['shallow.epochz']"),
        ({"extends": "full", "description": "d", "shallow": {"epochs": 3}},
         "shallow.epochs: a changed key holds its value and the reason"),
        ({"extends": "full", "description": "d", "shallow": {"epochs": {"value": 3}}},
         "shallow.epochs: a changed key holds its value and the reason"),
        ({"extends": "full", "description": "d", "shallow": {"epochs": {"value": 3, "why": " "}}},
         "shallow.epochs: a changed key holds its value and the reason"),
        ({"extends": "full", "description": "d", "shallow": {"epochs": {"value": 30, "why": "x"}}},
         "shallow.epochs = 30 is already the value in profile 'full'"),
        ({"extends": "full", "shallow": {"epochs": {"value": 3, "why": "x"}}}, "description"),
        ({"extends": "huge", "description": "d"}, "extends = 'huge': no such profile"),
        ({"extends": "full", "description": "d", "deviations": {"a": "b"}},
         "unknown key 'deviations'"),
    ],
)
def test_bad_override_files_fail_with_the_file_and_key(tmp_path, raw, message):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    msg = str(err.value)
    assert message in msg and msg.startswith(f"{path}: ") and "\n" not in msg


def test_a_profile_may_extend_a_smaller_one(tmp_path):
    p = load_profile(write_variant(tmp_path, **{"shallow.epochs": 2}))
    smoke = load_profile("smoke")
    assert p.shallow_epochs == 2 and p.replace(shallow_epochs=1, name="smoke",
                                                description=smoke.description,
                                                deviations=smoke.deviations) == smoke
    assert p.reason("shallow.epochs") == "a test"


def test_sections_read_the_flat_fields():
    p = load_profile("quick")
    assert p.shallow.epochs == p.shallow_epochs == 15
    assert p.search.lrs == p.search_lrs and p.data.source == "standin"
    assert list(p.sections()) == ["data", "shallow", "search", "recipe", "table1", "table2",
                                  "samplecnn", "future", "noise"]
    # Every field but the top-level ones lives in exactly one section.
    in_sections = {f"{name}_{k}" for name, sec in p.sections().items() for k, _ in sec}
    assert in_sections == set(field_names()) - {"name", "description", "executor", "deviations"}
    assert p.future.to_dict() == {"trials": 1, "epochs": 12, "stride": 1024,
                                  "embedding_weight": 1.0}
    with pytest.raises(AttributeError, match="no key 'epochz'; valid: sample_rate, epochs"):
        p.shallow.epochz  # noqa: B018
    with pytest.raises(AttributeError, match="read-only"):
        p.shallow.epochs = 3
    with pytest.raises(ProfileError, match="unknown profile section 'training'"):
        p.section("training")


def test_run_config_maps_each_family():
    quick = load_profile("quick")
    shallow = run_config(quick, "shallow", lr=0.05)
    assert (shallow.model, shallow.dataset, shallow.split, shallow.epochs, shallow.lr,
            shallow.output_prior) == ("dieleman", "standin-quick-2", "dieleman", 15, 0.05, True)
    search = run_config(quick, "search")
    assert search.epochs == quick.search_epochs and search.sample_rate == 12000
    deep = run_config(quick, "samplecnn")
    assert (deep.model, deep.epochs, deep.segments, deep.train_segments, deep.amp) == (
        "samplecnn", 1, 0, "crop", True)
    # Notebook 09's arms start from an earlier run's configuration.
    future = run_config(quick, "future_shallow", base=shallow.replace(dropout=0.2), seed=0)
    assert (future.epochs, future.length, future.stride, future.dropout, future.lr) == (
        12, 1024, 1024, 0.2, 0.05)
    full = load_profile("full")
    assert run_fields(full, "future_shallow") == {"epochs": 30}
    assert run_fields(full, "future_samplecnn") == {"epochs": 20}
    with pytest.raises(ProfileError, match="unknown run family 'lstm'; valid: shallow, search"):
        run_fields(full, "lstm")


def test_resolve_reads_the_injected_profile_and_sets_the_notebooks_names(tmp_path):
    from papermill.translators import PythonTranslator

    full = load_profile("full", data_root=str(tmp_path)).replace(executor="ray")
    # What mtlib report injects: the resolved profile as one Python literal.
    injected = eval(PythonTranslator.translate(full.to_flat()))  # noqa: S307 - our own literal
    # The parameters cell's defaults (quick's) are not applied; they take the profile's values.
    namespace = {"profile": injected, "executor": "local", "shallow_epochs": 15,
                 "table1_pairs": [[1024, 1024]]}
    p = resolve(injected, namespace)
    assert p == full and p.data_root == str(tmp_path) and p.executor == "ray"
    assert namespace == {"profile": "full", "executor": "ray", "shallow_epochs": 30,
                         "table1_pairs": [list(pair) for pair in full.table1_pairs]}
    # Run again on the names it set (a cell rerun), the notebook gets the same profile.
    assert resolve(namespace["profile"], dict(namespace, data_root=str(tmp_path))) == full


def test_a_stand_in_profile_names_its_corpus_for_the_generator_version():
    # A new generator renders another corpus: its name, and so its caches and run ids, change.
    from mtlib.standin.plan import GENERATOR_VERSION

    major = GENERATOR_VERSION.split(".")[0]
    for name in ("quick", "smoke", "rehearsal"):
        profile = load_profile(name)
        assert profile.data_source == "standin"
        assert profile.data_name.endswith(f"-{major}"), (name, profile.data_name)
