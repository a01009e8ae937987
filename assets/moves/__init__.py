"""Moves and rebuilds (搬迁) in the registry: a move plan's steps checked when the plan is made
(``services.create_plan``) and applied one asset at a time (``services.power_off``,
``services.finish_step``); ``queries`` reads plans and each asset's move history. The tablet
pages that also write the logbook and the alerts' maintenance are ``inspections.moves``."""
