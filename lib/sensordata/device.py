"""What a node is to the XEP-0323 sensor: a duck-typed device.

Any object with these two members can be registered as a node, so drivers in `drivers/`
need import nothing from this package:

    FIELDS  a tuple of field declarations, each `(name, typename, unit, kind)` or
            `(name, typename, unit, kind, data_type)`:
              typename  'numeric' | 'string' | 'boolean' | 'dateTime' | 'timeSpan' | 'enum'
              unit      e.g. '°C', '%', 'hPa', 'lx', 'ppm', 'V'; '' when none
              kind      the XEP-0323 type flag the field belongs to: 'momentary',
                        'identity', 'status', 'computed' or 'peak'
              data_type only for 'enum' fields
    async def read(self)
            one readout: a tuple of values in FIELDS order. A numeric value is a decimal
            string whose digits are the precision the part really has ('21.53', not 21.53
            as a float); a boolean is True/False; a string is a str; None marks a field with
            no valid value this time (left out of the readout; a node with no valid value
            at all gets a 'No valid reading' error instead).
            Raises OSError (or any Exception) when the part does not answer: the sensor turns
            that into a <failure> for this node only.

Optional:
    read_ms the longest a readout of a working part can take, in ms, when that is longer
            than a node's usual timeout (`comm_timeout`, 2000 ms by default): the node
            then waits this long before it reports a timeout.

`MemoryDevice` is the smallest such device: values set by the program, used by tests and
by boards that publish computed values.
"""


class MemoryDevice:
    """A device whose values are set by the program; can be told to fail or to hang."""

    def __init__(self, fields, values):
        self.FIELDS = tuple(fields)
        self.values = list(values)
        self.fail = None  # an exception instance to raise from read()
        self.delay_ms = 0  # time a readout takes; longer than comm_timeout means a timeout
        self.reads = 0

    async def read(self):
        self.reads += 1
        if self.delay_ms:
            import asyncio

            await asyncio.sleep_ms(self.delay_ms)
        if self.fail is not None:
            raise self.fail
        return tuple(self.values)
