import { Injectable, type PipeTransform } from '@nestjs/common';
import { decodeStudyAvailable, type StudyAvailable } from '@app/messaging';

/** The message's bytes → a validated StudyAvailable; a MalformedEventError (parked by the filter) otherwise. */
@Injectable()
export class StudyAvailablePipe implements PipeTransform<Buffer | null, StudyAvailable> {
  transform(value: Buffer | null): StudyAvailable {
    return decodeStudyAvailable(value);
  }
}
