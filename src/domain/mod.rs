//! Pure business rules: order statuses and who may move them, money, input validation.
