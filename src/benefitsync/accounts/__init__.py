"""Users, login and roles (HR admin, support staff, employee)."""
