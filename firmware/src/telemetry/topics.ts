/** MQTT topics under telemed/v1/<province>/<county>/<deviceId>/ (design.md, "Health and control"). */
export function topicsFor(device: { province: string; county: string; id: string }) {
  const base = `telemed/v1/${device.province}/${device.county}/${device.id}`;
  return {
    base,
    state: `${base}/state`,
    health: `${base}/health`,
    event: `${base}/event`,
    command: `${base}/cmd/+`,
    commandResult: `${base}/cmd-result`,
  };
}
