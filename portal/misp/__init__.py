"""MISP at the portal's edge: bulletins as a MISP feed (``views``, ``feed``) and a partner's MISP
event imported as a draft bulletin (``importer``, ``pages``, ``api``)."""
