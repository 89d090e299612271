"""Write-back: scored documents written into a Talkwalker project through the bulk documents API."""
