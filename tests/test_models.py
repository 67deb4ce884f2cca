"""Models: shapes, parameter counts against hand arithmetic, Table I configs, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers_train import one_torch_thread
from torch import nn

from mtlib.config import MODELS, ConfigError, RunConfig
from mtlib.models import DielemanCNN, SampleCNN, build_model, count_parameters, model_names
from mtlib.models.dieleman import dense_input_frames, n_frames
from mtlib.models.frontends import (
    HarmonicFrontend,
    LogMelFrontend,
    quarter_tone_fundamentals,
    stft_frames,
    usable_mel_bands,
    won_filterbank_gap,
)
from mtlib.models.layers import FrameConv, as_1d, time_maps
from mtlib.models.tag_embedding import TagEmbedding, cooccurrence_vectors

SUBCLIP_12K = 34_950  # 2.9125 s at 12 kHz: 349,500 // 10
CLIP_12K = 349_500
TABLE_I = [(1024, 1024), (1024, 512), (512, 512), (512, 256), (256, 256), (256, 128), (128, 128)]


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


def test_registry_matches_config_and_rejects_unknown_names():
    assert set(model_names()) == set(MODELS)
    cfg = RunConfig()
    object.__setattr__(cfg, "model", "resnet")  # bypass RunConfig's own validation
    with pytest.raises(ConfigError, match="dieleman, samplecnn"):
        build_model(cfg, 50, CLIP_12K)
    with pytest.raises(ConfigError, match="valid: dieleman, samplecnn"):
        RunConfig(model="resnet")


def test_dieleman_frame_arithmetic():
    # (34950 - 256) // 256 + 1 = 135 + 1 = 136 frames -> ceil(136/4) = 34 -> ceil(34/4) = 9
    assert n_frames(SUBCLIP_12K, 256, 256) == 136
    assert dense_input_frames(SUBCLIP_12K, 256, 256) == 9
    # 1024/1024: (34950 - 1024) // 1024 + 1 = 34 frames -> 9 -> 3 (valid convs would fail here)
    assert n_frames(SUBCLIP_12K, 1024, 1024) == 34
    assert dense_input_frames(SUBCLIP_12K, 1024, 1024) == 3
    # 128/128: (34950 - 128) // 128 + 1 = 273 -> 69 -> 18
    assert dense_input_frames(SUBCLIP_12K, 128, 128) == 18
    with pytest.raises(ConfigError, match="shorter than the filter length"):
        n_frames(100, 256, 256)


def test_dieleman_parameter_count_by_hand():
    model = build_model(RunConfig(length=256, stride=256, filters=32), 50, CLIP_12K)
    strided = 1 * 32 * 256 + 32  # 8,224: weights F x 1 x L + bias
    conv8 = 32 * 32 * 8 + 32  # 8,224 each, two of them
    dense = (32 * 9) * 100 + 100  # 28,900: 32 channels x 9 frames in, 100 out
    out = 100 * 50 + 50  # 5,050
    assert count_parameters(model) == strided + 2 * conv8 + dense + out == 58_622

    big = build_model(RunConfig(length=1024, stride=1024), 50, CLIP_12K)
    assert count_parameters(big) == (1024 * 32 + 32) + 2 * conv8 + (32 * 3 * 100 + 100) + out

    # batch norm adds scale + shift per channel: after the strided conv, both length-8
    # convs and the 100-unit dense layer, never after the output layer.
    bn = build_model(RunConfig(norm="batch"), 50, CLIP_12K)
    assert count_parameters(bn) == 58_622 + 2 * (32 + 32 + 32 + 100)


def test_dieleman_shapes_and_output_layer_has_no_norm():
    model = build_model(RunConfig(norm="group", groups=8), 7, CLIP_12K)
    x = torch.randn(2, 10, 1, SUBCLIP_12K)
    assert model(x).shape == (2, 10, 7)
    assert model(x[0]).shape == (10, 7)
    assert isinstance(model.head[-1], nn.Linear) and model.head[-1].out_features == 7
    # 8 groups do not divide the 100-unit dense layer: gcd(8, 100) = 4 groups there.
    dense_norm = model.hidden[3]
    assert isinstance(dense_norm, nn.GroupNorm) and dense_norm.num_groups == 4
    assert model.conv[0][2].num_groups == 8
    with pytest.raises(ValueError, match=r"\[\.\.\., 1, 34950\]"):
        model(torch.randn(2, 10, 1, 1000))


@pytest.mark.parametrize("length,stride", TABLE_I)
def test_table_i_configs_forward_and_train_step(length, stride):
    torch.manual_seed(0)
    model = build_model(RunConfig(length=length, stride=stride), 50, CLIP_12K)
    x = torch.randn(2, 10, 1, SUBCLIP_12K) * 0.1
    y = (torch.rand(2, 50) < 0.2).float()
    logits = model(x)
    assert logits.shape == (2, 10, 50)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, y[:, None].expand_as(logits))
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("length,stride", [(1024, 512), (128, 128)])
def test_logmel_frontend_feeds_its_bands_to_the_first_length_8_conv(length, stride):
    model = build_model(RunConfig(frontend="logmel", length=length, stride=stride), 5, CLIP_12K)
    assert model(torch.randn(1, 10, 1, SUBCLIP_12K) * 0.1).shape == (1, 10, 5)
    # Dieleman & Schrauwen's spectrogram input: nothing learnt between the spectrum and the
    # convolutions, whose first one takes the mel bands as channels.
    assert count_parameters(model.frontend) == 0
    assert model.conv[0][1].in_channels == model.frontend.channels
    assert model.frontend.channels == usable_mel_bands(length, 12000, 128)
    frames = stft_frames(SUBCLIP_12K, length, stride)
    assert model.hidden[2].in_features == 32 * math.ceil(math.ceil(frames / 4) / 4)


def test_harmonic_frontend_filters_sit_on_the_harmonics_of_quarter_tones():
    f0 = quarter_tone_fundamentals(12000)
    assert len(f0) == 119 and f0[0] == pytest.approx(32.703)
    assert float(f0[1] / f0[0]) == pytest.approx(2 ** (1 / 24))  # a quarter tone
    assert 6 * float(f0[-1]) <= 6000 < 6 * float(f0[-1]) * 2 ** (1 / 24)
    front = HarmonicFrontend(12000, n_fft=512, hop=256)
    assert front.channels == 6 * 119
    bank = front.filterbank().detach()  # [257 bins, 714]
    hz = torch.linspace(0, 6000, 257)
    for h, k in [(1, 60), (3, 100), (6, 118)]:
        column = bank[:, (h - 1) * 119 + k]
        centre = h * float(f0[k])
        # the filter peaks at the bin nearest its centre and is zero a bandwidth away
        assert int(column.argmax()) == int((hz - centre).abs().argmin())
        erb = 0.1079 * centre + 24.7
        assert float(column[(hz - centre).abs() > erb / 2].abs().max()) == 0.0
    x = torch.randn(2, 1, SUBCLIP_12K)
    out = front(x)
    assert out.shape == (2, 714, stft_frames(SUBCLIP_12K, 512, 256)) and bool((out >= 0).all())
    # Won et al.'s released setting: only the bandwidth is learnt
    assert [n for n, _ in front.named_parameters()] == ["quality"]
    learnt = HarmonicFrontend(12000, n_fft=512, hop=256, learn_f0=True)
    learnt(x).sum().backward()  # their option: the fundamentals are learnt too
    assert float(learnt.f0.grad.abs().sum()) > 0 and learnt.quality.grad is not None


def _won_bank(sample_rate: int, n_fft: int, harmonics: int = 6) -> np.ndarray:
    """Won et al.'s harmonic filter bank, [bins, harmonics, fundamentals], from the paper's
    formula: f0 on MIDI 24, 24.5, ... below the note of sample_rate / (2 harmonics); triangle
    centred on h f0 of width ERB(h f0) / Q, Q = 1."""
    top_note = int(np.round(69 + 12 * np.log2(sample_rate / (2 * harmonics) / 440)))
    f0 = 440 * 2 ** ((np.arange(24, top_note, 0.5) - 69) / 12)
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    bank = np.zeros((len(bins), harmonics, len(f0)))
    for h in range(1, harmonics + 1):
        for k, f in enumerate(f0):
            width = 0.1079 * h * f + 24.7
            bank[:, h - 1, k] = np.maximum(0, 1 - np.abs(bins - h * f) / (width / 2))
    return bank


@pytest.mark.parametrize("sample_rate", [12000, 16000])
def test_harmonic_filter_bank_matches_won_et_al_formula(sample_rate):
    won = _won_bank(sample_rate, 512)
    ours = HarmonicFrontend(sample_rate, n_fft=512, hop=256).filterbank().detach().double()
    ours = ours.numpy().reshape(257, 6, -1)
    common = won.shape[2]
    assert ours.shape[2] - common in (0, 1)  # ours may keep one more quarter tone at the top
    gap = float(np.abs(ours[:, :, :common] - won).max())
    # the figure notebook 09 states is this one
    assert won_filterbank_gap(sample_rate, 512) == (pytest.approx(gap, abs=1e-9), common)
    # measured: 1.1e-4 at 12 kHz, all from C1 rounded to 32.703 Hz (Won: 32.70319566 Hz)
    assert 1e-5 < gap < 2e-4


def test_the_filter_bank_gap_to_won_et_al_is_c1s_rounding(monkeypatch):
    from mtlib.models import frontends

    monkeypatch.setattr(frontends, "F0_MIN", 440 * 2 ** ((24 - 69) / 12))
    assert won_filterbank_gap(12000, 512)[0] < 1e-5  # float32 rounding only


@pytest.mark.parametrize("frontend", ["logmel", "harmonic"])
def test_spectral_front_ends_do_not_see_the_min_max_offset(frontend):
    torch.manual_seed(0)
    x = torch.rand(2, 1, SUBCLIP_12K) - 0.5  # zero-mean audio, and the same audio + 0.5
    front = {"logmel": lambda dc: LogMelFrontend(12000, 512, 256, 128, remove_dc=dc),
             "harmonic": lambda dc: HarmonicFrontend(12000, 512, 256, remove_dc=dc)}[frontend]
    removed, kept = front(True), front(False)
    with torch.no_grad():
        assert torch.allclose(removed(x + 0.5), removed(x), atol=1e-3)
        # the earlier behaviour: the offset lifts the lowest channels by nats
        lift = (kept(x + 0.5) - kept(x)).amax(dim=(0, 2))
    assert float(lift.max()) > 1.0 and int(lift.argmax()) < 6


def test_harmonic_dieleman_cnn_trains_its_filters():
    cfg = RunConfig(frontend="harmonic", n_fft=512, length=1024, stride=1024, norm="batch")
    for f0, moves in [("fixed", False), ("learnt", True)]:
        model = build_model(cfg.replace(harmonic_f0=f0), 5, CLIP_12K)
        assert model.conv[0][1].in_channels == 714
        before = model.frontend.f0.detach().clone()
        q = float(model.frontend.quality.detach())
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        logits = model(torch.randn(2, 10, 1, SUBCLIP_12K))
        nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
        opt.step()
        assert logits.shape == (2, 10, 5) and float(model.frontend.quality.detach()) != q
        assert torch.equal(before, model.frontend.f0) is not moves


@pytest.mark.parametrize("cfg", [RunConfig(norm="batch"), RunConfig(frontend="harmonic",
                                                                     n_fft=512),
                                 RunConfig(model="samplecnn")], ids=["raw", "harmonic", "deep"])
def test_forward_is_classify_of_embed(cfg):
    torch.manual_seed(0)
    clip = CLIP_12K if cfg.model == "dieleman" else 2 * 59_049
    model = build_model(cfg, 4, clip).eval()
    x = torch.randn(2, 2, 1, model.input_samples) * 0.1
    with torch.no_grad():
        features = model.embed(x)
        assert features.shape == (2, 2, model.feature_dim)
        assert torch.allclose(model.classify(features), model(x))


def test_cooccurrence_vectors_put_co_occurring_tags_together():
    rng = np.random.default_rng(0)
    a = rng.random(400) < 0.3
    labels = np.stack([a, a & (rng.random(400) < 0.8), ~a & (rng.random(400) < 0.3),
                       np.zeros(400, bool)], axis=1).astype(np.uint8)  # tag 3: no positive
    v = cooccurrence_vectors(labels, dim=3)
    assert v.shape == (4, 3) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0) and not v[3].any()
    assert v[0] @ v[1] > 0.9 and v[0] @ v[2] < v[0] @ v[1]


def test_tag_embedding_loss_skips_untagged_clips_and_trains_the_projection():
    emb = TagEmbedding(feature_dim=6, n_tags=3, dim=2)
    emb.set_tags(np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]], dtype=np.uint8))
    features = torch.randn(4, 5, 6)
    untagged = torch.zeros(4, 3)
    assert float(emb.loss(features, untagged).detach()) == 0.0
    y = torch.tensor([[1.0, 0, 0], [0, 0, 1], [0, 0, 0], [1, 1, 0]])
    opt = torch.optim.SGD(emb.parameters(), lr=0.5)
    first = None
    for _ in range(50):
        loss = emb.loss(features, y)
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert 0.0 <= float(loss) < first <= 2.0


def test_tag_embedding_is_a_submodule_only_when_asked():
    plain = build_model(RunConfig(), 5, CLIP_12K)
    assert not hasattr(plain, "tag_embedding")
    model = build_model(RunConfig(tag_embedding=0.5, tag_embedding_dim=4), 5, CLIP_12K)
    assert model.tag_embedding.tag_vectors.shape == (5, 4)
    assert "tag_embedding.tag_vectors" in model.state_dict()  # saved with the weights
    assert count_parameters(model) == count_parameters(plain) + 100 * 4 + 4


def test_mel_bands_are_capped_for_short_windows():
    assert usable_mel_bands(1024, 12000, 128) == 128
    assert usable_mel_bands(128, 12000, 128) < 65  # 65 FFT bins cannot hold 128 bands


def test_samplecnn_parameter_count_by_hand():
    model = build_model(RunConfig(model="samplecnn", sample_rate=16000), 50, 466_000)
    assert isinstance(model, SampleCNN)
    first = 3 * 1 * 128 + 128  # 512: conv(128, 3, stride 3)
    blocks = (
        2 * (3 * 128 * 128 + 128)  # 98,560: two 128 -> 128 blocks
        + (3 * 128 * 256 + 256)  # 98,560: 128 -> 256
        + 5 * (3 * 256 * 256 + 256)  # 984,320: five 256 -> 256
        + (3 * 256 * 512 + 512)  # 393,728: 256 -> 512
    )
    last = 512 * 512 + 512  # 262,656: conv(512, 1)
    dense = 512 * 50 + 50  # 25,650
    bn = 2 * (128 + 128 + 128 + 256 * 6 + 512 + 512)  # 5,888: scale + shift per channel
    assert count_parameters(model) == first + blocks + last + dense + bn == 1_869_874


def test_samplecnn_shapes_defaults_and_errors():
    cfg = RunConfig(model="samplecnn")
    assert (cfg.model_norm, cfg.model_dropout) == ("batch", 0.5)
    # replace() from a Dieleman config still picks up SampleCNN's defaults
    assert RunConfig().replace(model="samplecnn").model_norm == "batch"
    assert RunConfig(model="samplecnn", norm="group", dropout=0.2).model_norm == "group"
    torch.manual_seed(0)
    model = build_model(cfg.replace(norm="group"), 3, 2 * 59_049).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 2, 1, 59_049) * 0.1)
    assert out.shape == (2, 2, 3)
    with pytest.raises(ConfigError, match="59049"):
        build_model(cfg, 3, 50_000)
    with pytest.raises(ConfigError, match="only for model 'dieleman'"):
        RunConfig(model="samplecnn", frontend="logmel")


def test_direct_construction_matches_builder():
    a = DielemanCNN(n_tags=4, input_samples=2560, length=256, stride=256)
    b = build_model(RunConfig(), 4, 25_600)
    assert count_parameters(a) == count_parameters(b)


@pytest.mark.parametrize("model", MODELS)
def test_output_prior_starts_each_tag_at_its_training_frequency(model):
    import numpy as np

    from mtlib.models.layers import init_output_prior

    net = build_model(RunConfig(model=model), n_tags=3, clip_samples=10 * 3**10)
    out = net.output_layer()
    assert isinstance(out, nn.Linear) and out is list(net.modules())[-1]
    init_output_prior(out, np.array([0, 10, 99]), n_clips=99)
    rate = torch.sigmoid(out.bias.detach().double())
    expected = (torch.tensor([0.0, 10.0, 99.0], dtype=torch.float64) + 0.5) / 100.0
    torch.testing.assert_close(rate, expected, rtol=1e-6, atol=0)
    with pytest.raises(ConfigError, match="2 tag counts for an output layer of 3 tags"):
        init_output_prior(out, np.array([1, 2]), n_clips=10)


# --- time maps: the models' 2-D layers are their 1-D networks ------------------------------
def _dieleman_1d(model: DielemanCNN, flat: torch.Tensor) -> torch.Tensor:
    ref = as_1d(model).double()
    ref.load_state_dict(model.state_dict())
    ref.train(model.training)
    return ref.head(ref.hidden(ref.conv(ref.frontend(flat))))


@pytest.mark.parametrize("norm", ["batch", "group", "none"])
@pytest.mark.parametrize("length, stride", [(256, 128), (1024, 1024), (200, 70)])
def test_dieleman_time_maps_compute_the_1d_network(length, stride, norm):
    torch.manual_seed(0)
    model = DielemanCNN(5, 4000, filters=8, length=length, stride=stride, norm=norm).double()
    x = torch.randn(3, 2, 1, 4000, dtype=torch.float64)
    for train in (True, False):
        model.train(train)
        ours = model(x).reshape(6, 5)
        ref = _dieleman_1d(model, x.reshape(6, 1, 4000))
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
    # and the weight gradients, the strided conv's (a product of frames) included
    model.train()
    ours = torch.autograd.grad(model(x).square().sum(), list(model.parameters()))
    ref_model = as_1d(model).double()
    ref_model.load_state_dict(model.state_dict())
    ref_out = ref_model.head(ref_model.hidden(ref_model.conv(ref_model.frontend(
        x.reshape(6, 1, 4000)))))
    ref = torch.autograd.grad(ref_out.square().sum(), list(ref_model.parameters()))
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("norm", ["batch", "group"])
def test_samplecnn_time_maps_compute_the_1d_network(norm):
    torch.manual_seed(0)
    model = SampleCNN(4, norm=norm).double().eval()
    ref = as_1d(model).double()
    ref.load_state_dict(model.state_dict())  # a checkpoint of 1-D layers loads as it is
    ref.eval()
    x = torch.randn(2, 1, 59_049, dtype=torch.float64)
    with torch.no_grad():
        ours = model(x)
        theirs = ref.head(ref.features(x).squeeze(-1))
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9)


def test_time_maps_stay_channels_last():
    """The layout is the point: every conv feature map of SampleCNN stays channels-last, so
    oneDNN copies none of them."""
    model = SampleCNN(3).eval()
    h = time_maps(torch.randn(2, 1, 59_049))
    with torch.no_grad():
        for layer in model.features:
            h = layer(h)
            assert h.dim() == 4 and h.is_contiguous(memory_format=torch.channels_last), layer
    frames = FrameConv(4, 256, 128)(torch.randn(2, 1, 4000))
    assert frames.shape == (2, 4, 1, n_frames(4000, 256, 128))
    assert frames.is_contiguous(memory_format=torch.channels_last)
