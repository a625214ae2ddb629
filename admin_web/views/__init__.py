"""The staff's daily pages, one module per page family; each attaches its routes to the `admin` blueprint."""
