"""Dataset and dataloader construction for the plugin.

RecBole's ``get_dataloader`` cannot be extended from outside, so the plugin builds its own
training loader and reuses RecBole's split, samplers and evaluation loaders unchanged.
"""

from logging import getLogger

from recbole.data.utils import create_dataset as recbole_create_dataset
from recbole.data.utils import create_samplers, get_dataloader

import recbole_srt.data.dataset as plugin_datasets
from recbole_srt.data.dataloader import AllPositionsDataLoader


def create_dataset(config):
    """``<Model>Dataset`` from this plugin if it defines one, else RecBole's choice."""
    dataset_class = getattr(plugin_datasets, f"{config['model']}Dataset", None)
    if dataset_class is None:
        return recbole_create_dataset(config)
    return dataset_class(config)


def data_preparation(config, dataset):
    built = dataset.build()
    train_set, valid_set, test_set = built
    train_sampler, valid_sampler, test_sampler = create_samplers(config, dataset, built)
    if config["srt_all_positions"]:
        train_data = AllPositionsDataLoader(config, train_set, shuffle=config["shuffle"])
        getLogger().info(
            f"[Training]: all positions: {len(train_data.inputs)} windows of <= "
            f"{config['MAX_ITEM_LIST_LENGTH']} items, {train_data.n_targets} targets, "
            f"{len(train_data)} batches of {config['train_batch_size']} windows"
        )
    else:
        train_data = get_dataloader(config, "train")(config, train_set, train_sampler, shuffle=config["shuffle"])
    valid_data = get_dataloader(config, "valid")(config, valid_set, valid_sampler, shuffle=False)
    test_data = get_dataloader(config, "test")(config, test_set, test_sampler, shuffle=False)
    return train_data, valid_data, test_data
