"""Native ``/api`` routes, one module per resource."""
