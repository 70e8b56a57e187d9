"""benefitsync: an employer portal for employee benefits with a Personio integration."""
