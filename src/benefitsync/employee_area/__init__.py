"""The employee area: sign-up from an invitation, benefits, vouchers and receipts."""
