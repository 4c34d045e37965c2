"""Alert evaluation, called by the ingest writer inside the transaction that stored a batch."""


def evaluate_plants(session, plant_ids, now):
    """Open or resolve alerts for the plants whose readings were just stored.

    Runs in the writer's transaction, so alerts and readings commit together.
    Filled in by the alerts work; until then there is nothing to evaluate.
    """
