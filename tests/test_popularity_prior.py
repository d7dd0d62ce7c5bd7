"""``score_popularity_prior``: beta log(1 + training count) added to the logits at scoring time only, the
same way by the full-ranking and the candidate paths, and invisible to checkpoints."""

import torch

from conftest import make_run


def test_the_prior_shifts_each_items_score_by_beta_tau_log_count_and_stays_out_of_the_checkpoint():
    plain = make_run("SRT", epochs=0, tau=0.5)
    prior = make_run("SRT", epochs=0, tau=0.5, score_popularity_prior=2.0)
    assert "score_prior" not in prior.model.state_dict()
    prior.model.load_state_dict(plain.model.state_dict())  # a checkpoint without the prior loads as it is
    plain.model.eval(), prior.model.eval()
    batch = next(iter(plain.test_data))[0]
    with torch.no_grad():
        base, shifted = plain.model.full_sort_predict(batch), prior.model.full_sort_predict(batch)
        items = torch.randint(1, base.shape[1], (base.shape[0],))
        picked = prior.model.score_candidates(prior.model.sequence_output(batch), items)
    shift = shifted - base
    # On the logits (scores / tau) the shift is beta log(1 + count): on the scores, 2 x 0.5 x log(1 + count).
    expected = torch.log1p(prior.catalog.train_counts.double()).float()
    assert torch.allclose(shift, expected.expand_as(shift), atol=1e-4)
    assert shift[:, 0].abs().max() == 0 and expected.max() > 5  # padding has no count; popular items do
    assert torch.allclose(picked, shifted[torch.arange(len(items)), items], atol=1e-4)


def test_no_prior_by_default_or_after_a_change_of_catalog():
    assert make_run("SRT", epochs=0).model.score_prior is None
    assert make_run("SRT", epochs=0, score_popularity_prior=None).model.score_prior is None
    run = make_run("SRT", epochs=0, score_popularity_prior=1.0)
    run.model.set_item_tokens(run.catalog.token_tables)  # another catalog's texts: no counts for its items
    assert run.model.score_prior is None
