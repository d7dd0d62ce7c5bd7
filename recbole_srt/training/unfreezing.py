"""Progressive unfreezing for fine-tuning (Howard and Ruder, 2018), the SRT paper's transfer recipe.

Stage k (k = 1 .. n_layers) trains the top k layers of the backbone with its final norm and the
heads (loss, feedback); everything else (item encoder, input embeddings, lower layers) stays as
pre-trained. The last stage trains everything. That is the paper's order, item encoder last
(``unfreeze_item_encoder: last``). With ``first`` the item encoder trains from the first stage, alone
with the heads, then with the top 1 .. n-1 layers: on a new catalog the item encoder is the part that
meets new text, and a frozen one leaves the stages before it with nothing to learn from.

Each stage is a fresh optimizer and one-cycle schedule over ``unfreeze_stage_epochs`` epochs (the
last over ``epochs``), with early stopping and its best epoch on validation; the next stage starts
from that best, and the run reports and tests the best of all stages.
"""

from recbole_srt.config_check import ConfigError
from recbole_srt.model import is_plugin_model, plugin_model_names


def stages(model, config):
    """[(name, top layers or None for everything, whether the item encoder trains, epochs)]."""
    if not is_plugin_model(model):
        raise ConfigError(f"unfreeze_stage_epochs: {type(model).__name__} has no backbone layers to unfreeze "
                          f"(the plugin's {plugin_model_names()} do)")
    layers = model.backbone.layers
    n, per_stage = len(layers), config["unfreeze_stage_epochs"]
    if config["unfreeze_item_encoder"] == "first":
        plan = [("item encoder", 0, True)] + [(f"item encoder + top {k} of {n} layers", k, True) for k in range(1, n)]
    else:
        plan = [(f"top {k} of {n} layers", k, False) for k in range(1, n + 1)]
    return [(name, top, encoder, per_stage) for name, top, encoder in plan] \
        + [("everything", None, True, config["epochs"])]


def set_trainable(model, top_layers, item_encoder=False):
    """Freeze all but the top ``top_layers`` layers, the final norm, the heads and, with ``item_encoder``,
    the item encoder (``top_layers`` None: train all)."""
    for param in model.parameters():
        param.requires_grad = top_layers is None
    if top_layers is None:
        return
    layers = list(model.backbone.layers)
    trainable = (layers[len(layers) - top_layers:] if top_layers else []) + [
        model.backbone.final_norm, model.loss_fct, model.feedback, model.item_encoder if item_encoder else None]
    for module in trainable:
        if module is not None:
            for param in module.parameters():
                param.requires_grad = True


def check_config(config):
    value = config["unfreeze_stage_epochs"]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"unfreeze_stage_epochs must be an integer >= 1 (~ for none), got {value!r}")
    if config["unfreeze_item_encoder"] not in ("last", "first"):
        raise ConfigError(f"unfreeze_item_encoder must be 'last' (the paper's order) or 'first', "
                          f"got {config['unfreeze_item_encoder']!r}")
