package server

// ParseGrantType is parseGrantType, for the fuzz target in server_test.
var ParseGrantType = parseGrantType
