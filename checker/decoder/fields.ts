// NetFlow v9 field type ids (RFC 3954 section 8, plus the IPFIX ids that v9
// exporters also send). Only the ones the decoder or the packet builder use.
export const F = {
  IN_BYTES: 1,
  IN_PKTS: 2,
  FLOWS: 3,
  PROTOCOL: 4,
  SRC_TOS: 5,
  TCP_FLAGS: 6,
  L4_SRC_PORT: 7,
  IPV4_SRC_ADDR: 8,
  SRC_MASK: 9,
  INPUT_SNMP: 10,
  L4_DST_PORT: 11,
  IPV4_DST_ADDR: 12,
  DST_MASK: 13,
  OUTPUT_SNMP: 14,
  IPV4_NEXT_HOP: 15,
  SRC_AS: 16,
  DST_AS: 17,
  BGP_IPV4_NEXT_HOP: 18,
  LAST_SWITCHED: 21,
  FIRST_SWITCHED: 22,
  OUT_BYTES: 23,
  OUT_PKTS: 24,
  IPV6_SRC_ADDR: 27,
  IPV6_DST_ADDR: 28,
  IPV6_SRC_MASK: 29,
  IPV6_DST_MASK: 30,
  ICMP_TYPE: 32,
  SAMPLING_INTERVAL: 34,
  SAMPLING_ALGORITHM: 35,
  FLOW_SAMPLER_ID: 48,
  FLOW_SAMPLER_MODE: 49,
  FLOW_SAMPLER_RANDOM_INTERVAL: 50,
  IP_PROTOCOL_VERSION: 60,
  DIRECTION: 61,
  IPV6_NEXT_HOP: 62,
  BGP_IPV6_NEXT_HOP: 63,
  IN_PERMANENT_BYTES: 85,
  IN_PERMANENT_PKTS: 86,
  ICMP_TYPE_CODE_IPV6: 139,
  FLOW_START_SECONDS: 150,
  FLOW_END_SECONDS: 151,
  FLOW_START_MILLISECONDS: 152,
  FLOW_END_MILLISECONDS: 153,
  PADDING_OCTETS: 210,
  SELECTOR_ID: 302,
  SAMPLING_PACKET_INTERVAL: 305,
  SAMPLING_PACKET_SPACE: 306,
  SAMPLING_SIZE: 309,
  SAMPLING_POPULATION: 310,
} as const;

/** Template field length meaning "variable": each value carries its own length prefix. */
export const VARIABLE_LENGTH = 65535;

/** Options template scope field types (RFC 3954 section 6.1). */
export const SCOPE = { SYSTEM: 1, INTERFACE: 2, LINE_CARD: 3, CACHE: 4, TEMPLATE: 5 } as const;

export interface TemplateField { type: number; length: number }
