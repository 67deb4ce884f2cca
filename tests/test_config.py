"""RunConfig: run ids are pinned; bad values fail in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from mtlib import config
from mtlib.config import MODEL_DEFAULTS, ConfigError, RunConfig
from mtlib.training import executors

# Pinned run ids: a changed id orphans every finished run folder, so it may change only with
# the numbers a config gives. They last changed when the log-mel front end lost its 1 x 1
# conv (Dieleman & Schrauwen's spectrogram input), and the STFT window (n_fft) and the label
# embedding became fields.
PINNED_RUN_IDS = [
    ({}, "0f07e11dfea5"),
    # the quick profile's tuned shallow CNN
    (dict(lr=0.0075, momentum=0.95, input_norm="minmax", length=256, stride=256, epochs=10),
     "b09d2b36599f"),
    (dict(norm="group", groups=4, dropout=0.2), "c2296b7dbfac"),
    (dict(model="samplecnn", sample_rate=16000, nesterov=True, plateau=True, norm="batch",
          train_eval_clips=0), "0144c0bd4081"),
    (dict(tags=("guitar", "piano")), "44fb9700275b"),
    (dict(tags=["guitar", "piano"]), "44fb9700275b"),
    (dict(max_train_clips=100), "6767f967e6b1"),
    # ints given for float fields stay ints: the JSON (and the id) reads 1, not 1.0
    (dict(lr=1, momentum=0), "f5d3033944ad"),
    (dict(lr=1.0), "559df8f791f5"),
    # the harmonic front end at every late field's legacy value (computed before they existed)
    (dict(frontend="harmonic", spectral_dc="keep", harmonic_f0="learnt"), "e940ff156fc9"),
    # late fields mean nothing to a raw-audio run: its id ignores them
    (dict(spectral_dc="keep", harmonic_f0="learnt"), "0f07e11dfea5"),
]

DEFAULT_JSON = (
    '{"amp":false,"batch_clips":10,"dataset":"standin-quick","dropout":null,"epochs":30,'
    '"filters":32,"frontend":"raw","groups":8,"input_norm":"minmax",'
    '"input_norm_scope":"clip","length":256,"loss":"clip","lr":0.01,"max_train_clips":null,'
    '"model":"dieleman","momentum":0.9,"n_fft":null,"n_mels":128,"nesterov":false,'
    '"norm":null,"output_prior":true,"plateau":false,"plateau_epochs":3,"require_tag":false,'
    '"sample_rate":12000,"seed":0,"segments":0,"split":"dieleman","stride":256,'
    '"tag_embedding":0,"tag_embedding_dim":16,"tags":[],"train_eval_clips":200,'
    '"train_segments":"all"}'
)


@pytest.mark.parametrize("fields, run_id", PINNED_RUN_IDS)
def test_run_ids_are_unchanged(fields, run_id):
    cfg = RunConfig(**fields)
    assert cfg.run_id == run_id
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).run_id == run_id


def test_to_dict_keeps_keys_order_and_value_types():
    d = RunConfig().identity()
    assert json.dumps(d, sort_keys=True, separators=(",", ":")) == DEFAULT_JSON
    d = RunConfig().to_dict()  # config.json keeps every field, late ones too
    assert set(d) - set(RunConfig().identity()) == set(config.LATE_FIELDS)
    assert list(d)[:3] == ["dataset", "sample_rate", "split"] and list(d)[-1] == "tags"
    d = RunConfig(lr=1, momentum=0, dropout=0, tags=["a"]).to_dict()
    assert (type(d["lr"]), type(d["momentum"]), type(d["dropout"])) == (int, int, int)
    assert d["tags"] == ["a"] and type(RunConfig(lr=0.5).to_dict()["lr"]) is float


@pytest.mark.parametrize("field, value", [("spectral_dc", "remove"), ("harmonic_f0", "fixed")])
def test_a_late_field_off_its_legacy_value_gives_a_new_id(field, value):
    legacy = RunConfig(frontend="harmonic", **{f.name: f.legacy
                                               for f in config.LATE_FIELDS.values()})
    assert legacy.run_id == "e940ff156fc9"
    changed = legacy.replace(**{field: value})
    assert changed.run_id != legacy.run_id
    assert RunConfig.from_dict(json.loads(json.dumps(changed.to_dict()))) == changed


def test_a_config_json_without_late_fields_loads_as_the_legacy_run():
    stored = RunConfig(frontend="harmonic").to_dict()
    for name in config.LATE_FIELDS:
        del stored[name]
    old = RunConfig.from_dict(stored)
    assert (old.spectral_dc, old.harmonic_f0) == ("keep", "learnt")
    assert old.run_id == "e940ff156fc9"
    # today's default harmonic front end (DC removed, fundamentals fixed) is another run
    assert RunConfig(frontend="harmonic").run_id != old.run_id


def test_tags_are_a_tuple_and_configs_hash_by_value():
    a = RunConfig(tags=["guitar", "piano"])
    b = RunConfig(tags=("guitar", "piano"))
    assert a.tags == ("guitar", "piano") and a == b and hash(a) == hash(b)
    assert len({a, b, RunConfig()}) == 2
    with pytest.raises(ValidationError, match="frozen"):
        a.lr = 0.1


def test_replace_validates_and_resolves_model_defaults():
    cfg = RunConfig()
    assert (cfg.model_norm, cfg.model_dropout) == ("none", 0.0)
    scnn = cfg.replace(model="samplecnn")
    assert (scnn.model_norm, scnn.model_dropout) == ("batch", 0.5) == tuple(
        MODEL_DEFAULTS["samplecnn"].values())
    assert cfg.replace(dropout=0.2).model_dropout == 0.2
    assert cfg.replace(tags=["x"]).tags == ("x",)
    with pytest.raises(ConfigError, match="epochs = 0: expected an integer >= 1"):
        cfg.replace(epochs=0)
    with pytest.raises(ConfigError, match=r"unknown RunConfig field\(s\) \['epoch'\]; valid: "):
        cfg.replace(epoch=3)


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(model="resnet"), "unknown model 'resnet'; valid: dieleman, samplecnn"),
        (dict(norm="instance"), "unknown norm 'instance'; valid: none, batch, layer, group"),
        (dict(split="random"), "unknown split 'random'; valid: standard, dieleman"),
        (dict(input_norm="zscore"), "unknown input_norm 'zscore'; valid: none, standardise"),
        (dict(epochs=0), "epochs = 0: expected an integer >= 1"),
        (dict(epochs=10.0), "epochs = 10.0: expected an integer >= 1"),  # no silent 10.0 -> 10
        (dict(epochs=True), "epochs = True: expected an integer >= 1"),
        (dict(lr=0), "lr = 0: expected a number > 0"),
        (dict(lr="0.1"), "lr = '0.1': expected a number > 0"),
        (dict(momentum=1.0), "momentum = 1.0: expected a number in [0, 1)"),
        (dict(dropout=1.5), "dropout = 1.5: expected null or a number in [0, 1)"),
        (dict(max_train_clips=0), "max_train_clips = 0: expected null or an integer >= 1"),
        (dict(train_eval_clips=-1), "train_eval_clips = -1: expected an integer >= 0"),
        (dict(tags=["a", "a"]), "tags = ['a', 'a']: expected a list of distinct tag names"),
        (dict(model="samplecnn", frontend="logmel"), "exists only for model 'dieleman'"),
        (dict(nesterov=True, momentum=0), "nesterov = True: expected False with momentum 0"),
        (dict(seed=1, lrr=0.1, epochz=3), r"unknown RunConfig field(s) ['epochz', 'lrr']"),
    ],
)
def test_bad_values_fail_in_one_line_naming_key_value_and_valid_values(fields, message):
    with pytest.raises(ConfigError) as err:
        RunConfig(**fields)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_from_dict_lists_the_valid_fields():
    with pytest.raises(ConfigError, match=r"unknown RunConfig field\(s\) \['x'\]; valid: dataset"):
        RunConfig.from_dict({**RunConfig().to_dict(), "x": 1})


def test_constants_are_defined_once_and_profiles_stays_light():
    assert executors.EXECUTORS is config.EXECUTORS == ("local", "ray")
    assert config.MODELS == ("dieleman", "samplecnn")
    code = ("import sys, mtlib.report.profiles; "
            "assert 'mtlib.training.executors' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
