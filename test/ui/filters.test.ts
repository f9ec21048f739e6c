// Filter input: IP/CIDR (v4 and v6), ports, protocols, interfaces; OR within a
// key, and the API's filter parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIpOrCidr, parseFilterInput, addFilterValue, setFilter, filtersToApi } from '../../core-extension/ui/lib/filters.js';
import { protocolName, protocolNumber, portLabel } from '../../core-extension/ui/lib/names.js';

test('IPv4 addresses and CIDRs', () => {
  for (const ok of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '10.0.0.0/8', '192.168.1.0/24', '1.2.3.4/32', '0.0.0.0/0']) assert.ok(isIpOrCidr(ok), ok);
  for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.1/33', '010.0.0.1', '10.0.0.1/', '10.0.0.1/a', ' 10.0.0.1', '1.2.3.4.5', '']) assert.ok(!isIpOrCidr(bad), bad);
});

test('IPv6 addresses and CIDRs', () => {
  for (const ok of ['::', '::1', '2001:db8::', '2001:db8::/32', 'fe80::1:2', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1', '2001:DB8::1/128', '1::8']) assert.ok(isIpOrCidr(ok), ok);
  for (const bad of ['1:2:3:4:5:6:7:8:9', '2001:db8::/129', ':::', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7', '::ffff:10.0.0.1:1', ':1']) assert.ok(!isIpOrCidr(bad), bad);
});

test('input is split on | or , and canonicalised', () => {
  assert.deepEqual(parseFilterInput('protocol', 'TCP, udp'), { values: ['tcp', 'udp'] });
  assert.deepEqual(parseFilterInput('protocol', '6|47'), { values: ['tcp', 'gre'] });
  assert.deepEqual(parseFilterInput('protocol', '253'), { values: ['253'] });
  assert.deepEqual(parseFilterInput('dst_port', '443|0443|443'), { values: ['443'] });
  assert.deepEqual(parseFilterInput('src_ip', '2001:DB8::/32'), { values: ['2001:db8::/32'] });
  assert.deepEqual(parseFilterInput('input_if', '4294967295'), { values: ['4294967295'] });
});

test('bad input names the key and the value', () => {
  assert.deepEqual(parseFilterInput('dst_port', '65536'), { error: 'Destination port: "65536" is not a port (0-65535)' });
  assert.deepEqual(parseFilterInput('protocol', 'tcpp'), { error: 'Protocol: "tcpp" is not a protocol name or number (0-255)' });
  assert.deepEqual(parseFilterInput('src_ip', "1' OR 1=1"), { error: `Source IP: "1' OR 1=1" is not an IP address or CIDR` });
  assert.ok('error' in parseFilterInput('exporter', ' | '));
  assert.ok('error' in parseFilterInput('nope', '1'));
  assert.ok('error' in parseFilterInput('input_if', '4294967296'));
});

test('clicking a talker adds an alternative; keys stay in a fixed order', () => {
  let f = addFilterValue([], 'dst_port', '443');
  f = addFilterValue(f, 'src_ip', '10.0.0.1');
  f = addFilterValue(f, 'src_ip', '10.0.0.2');
  f = addFilterValue(f, 'src_ip', '10.0.0.2');
  assert.deepEqual(f, [{ key: 'src_ip', values: ['10.0.0.1', '10.0.0.2'] }, { key: 'dst_port', values: ['443'] }]);
  assert.deepEqual(setFilter(f, 'src_ip', []), [{ key: 'dst_port', values: ['443'] }]);
});

test('a clicked value is canonicalised like typed input; an invalid one changes nothing', () => {
  assert.deepEqual(addFilterValue([], 'protocol', '17'), [{ key: 'protocol', values: ['udp'] }]);
  assert.deepEqual(addFilterValue([], 'src_ip', '2001:DB8::1'), [{ key: 'src_ip', values: ['2001:db8::1'] }]);
  const f = [{ key: 'dst_port', values: ['443'] }];
  assert.equal(addFilterValue(f, 'dst_port', 'https'), f);
  assert.equal(addFilterValue(f, 'nope', '1'), f);
});

test('the API filter parameter sends protocols as numbers', () => {
  assert.equal(filtersToApi([{ key: 'src_ip', values: ['192.168.1.0/24'] }, { key: 'protocol', values: ['tcp', 'udp'] }]), 'src_ip=192.168.1.0/24,protocol=6|17');
  assert.equal(filtersToApi([]), '');
});

test('protocol and port names', () => {
  assert.equal(protocolName(6), 'tcp');
  assert.equal(protocolName(200), '200');
  assert.equal(protocolNumber('ICMP'), 1);
  assert.equal(protocolNumber('icmpv6'), 58);
  assert.equal(protocolNumber('256'), null);
  assert.equal(portLabel(443), '443 https');
  assert.equal(portLabel(40000), '40000');
});

test('AS numbers, with or without the AS prefix', () => {
  assert.deepEqual(parseFilterInput('dst_as', 'AS15169|64512'), { values: ['15169', '64512'] });
  assert.ok('error' in parseFilterInput('src_as', 'AS-1'));
});
