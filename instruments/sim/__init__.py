"""The simulated bench: small physics models of the paper's cells, and SCPI
emulators of the real instrument models that the real drivers talk to over
pyvisa-py sockets on the loopback interface."""
