module example.invalid/e2e-test-images/webserver

go 1.22
