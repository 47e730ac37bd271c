"""The demo data: two schools, their team, support staff and customers in every state.

Everything that changes access, billing or tags goes through the services, so the demo's
audit trail, billing history and states are the ones the product itself would have
written. The generated customers are replayed day by day (`history`), so that each
service call acts on all the customers whose story has a step on that day.
"""
