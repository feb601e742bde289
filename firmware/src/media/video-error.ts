/** A refusal or failure of the consultation video, with a code the local API maps to a status. */
export class VideoError extends Error {
  constructor(
    readonly code:
      | 'BUSY'
      | 'NO_ENCODER'
      | 'NO_CAMERA'
      | 'NOT_RUNNING'
      | 'NOT_RECORDING'
      | 'PIPELINE'
      | 'NO_SPACE',
    message: string,
  ) {
    super(message);
  }
}
