"""REST API ``/api/v1``: routes and the OpenAPI document built from the same declarations."""
