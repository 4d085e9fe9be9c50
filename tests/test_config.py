"""Config: the derived dataclass, its validation and (de)serialisation."""

import pytest

from corrnet import Config


def test_config_from_dict_names_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown config keys \['hidden'\]"):
        Config.from_dict({"hidden": 3})


def test_an_unknown_pass_name_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError) as err:
        Config(reconstruct_from=("both", "xy")).validate()
    assert str(err.value) == (
        "reconstruct_from contains 'xy'; allowed passes are ('both', 'x', 'y') (two views) or "
        "('all', 'single', 'pairs')."
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            dict(hidden_activation="gelu"),
            "hidden_activation='gelu' is not supported; use one of ('sigmoid', 'tanh', 'relu', 'linear').",
        ),
        (dict(lr_schedule="step"), "lr_schedule='step' is not supported; use one of ('constant', 'cosine')."),
        (dict(n_components=0), "n_components must be a positive integer, got 0."),
        (dict(batch_size=2.5), "batch_size must be a positive integer, got 2.5."),
        (dict(batch_size=1), "batch_size must be >= 2: the correlation term needs two rows per batch."),
        (dict(epochs=-1), "epochs must be 'auto' or a non-negative integer, got -1."),
        (dict(epochs="many"), "epochs must be 'auto' or a non-negative integer, got 'many'."),
        (dict(encoder_layers=(300, 0)), "encoder_layers must be positive integers, got (300, 0)."),
        (dict(decoder_layers=(2.5,)), "decoder_layers must be positive integers, got (2.5,)."),
        (
            dict(tied=True, decoder_layers=(20,)),
            "tied=True needs single-layer decoders; set tied=False to use decoder_layers.",
        ),
        (dict(lr=0.0), "lr must be 'auto' or > 0, got 0.0."),
        (dict(lr=float("nan")), "lr must be 'auto' or > 0, got nan."),
        (dict(lam=-0.5), "lam must be 'auto' or >= 0 (it weights -sum corr), got -0.5."),
        (dict(corr_eps=0.0), "corr_eps must be > 0 to keep the correlation finite, got 0.0."),
        (
            dict(tied=True, encoder_layers=(20,)),
            "tied=True needs a single-layer encoder; set tied=False to use encoder_layers.",
        ),
        (dict(tied=True, fusion="sum"), "fusion='sum' (the seed blog's model) has untied decoders; set tied=False."),
        (
            dict(loss="bce", output_activation="linear"),
            "loss='bce' needs output_activation='sigmoid' (targets in [0, 1]).",
        ),
    ],
)
def test_config_refusals_name_the_field_and_the_fix(bad, message):
    """Every refusal of Config.validate, word for word (the CLI and the estimator print these)."""
    with pytest.raises(ValueError) as err:
        Config(**bad).validate()
    assert str(err.value) == message


@pytest.mark.parametrize(
    "edge",
    [
        dict(batch_size=2),
        dict(epochs=0),
        dict(epochs="auto"),
        dict(lam=0.0),
        dict(encoder_layers=(1,)),
        dict(tied=True, decoder_layers=()),
        dict(tied=True),
        dict(fusion="sum"),
        dict(loss="bce", output_activation="auto"),
        dict(lr_schedule="cosine"),
    ],
)
def test_config_accepts_the_edges_of_each_rule(edge):
    assert Config(**edge).validate() == Config(**edge)
