"""Moves carried out on the tablet (搬迁): each step of a registry move plan
(``assets.moves``) with its power-off and power-on in the logbook and the asset's alerts in
maintenance while it is off (``opskit.alerts.services``)."""
